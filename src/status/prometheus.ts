// Prometheus text exposition format (version 0.0.4) from metric samples.
import { type MetricSample, metricSample } from '../engine-api/types.js';

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/** Group samples by name (HELP/TYPE once per family), keep first-seen order. Invalid names are skipped. */
export function renderPrometheus(samples: MetricSample[]): string {
  const families = new Map<string, MetricSample[]>();
  for (const s of samples) {
    if (!NAME_RE.test(s.name)) continue;
    const list = families.get(s.name);
    if (list) list.push(s);
    else families.set(s.name, [s]);
  }
  const out: string[] = [];
  for (const [name, list] of families) {
    out.push(`# HELP ${name} ${escapeHelp(list[0].help)}`);
    out.push(`# TYPE ${name} ${list[0].type}`);
    for (const s of list) {
      const labels = Object.entries(s.labels)
        .filter(([k]) => NAME_RE.test(k))
        .map(([k, v]) => `${k}="${escapeLabel(String(v))}"`);
      out.push(`${name}${labels.length ? `{${labels.join(',')}}` : ''} ${formatValue(s.value)}`);
    }
  }
  return out.join('\n') + '\n';
}

/** Process-level samples (memory, cpu, uptime, event loop). */
export function processMetrics(startedAt: number, extra: MetricSample[] = []): MetricSample[] {
  const mem = process.memoryUsage();
  const cpu = process.cpuUsage();
  const g = (name: string, help: string, value: number, type: MetricSample['type'] = 'gauge'): MetricSample => metricSample(name, help, value, {}, type);
  return [
    g('process_resident_memory_bytes', 'Resident memory size in bytes.', mem.rss),
    g('process_heap_bytes', 'V8 heap used in bytes.', mem.heapUsed),
    g('process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.', (cpu.user + cpu.system) / 1e6, 'counter'),
    g('process_start_time_seconds', 'Start time of the process since unix epoch in seconds.', Math.floor(startedAt / 1000)),
    g('tskeepalived_uptime_seconds', 'Seconds since the daemon started.', (Date.now() - startedAt) / 1000),
    ...activeResources(),
    ...extra,
  ];
}

/**
 * What keeps the event loop alive, by kind (Timeout, TCPSocketWrap, FSReqCallback, ...; unref'd
 * handles are not listed): a timer or socket leak shows as a count that grows with uptime instead
 * of following the configured checks.
 */
export function activeResources(): MetricSample[] {
  const counts = new Map<string, number>();
  for (const type of process.getActiveResourcesInfo()) counts.set(type, (counts.get(type) ?? 0) + 1);
  return [...counts].map(([type, value]) => ({
    name: 'process_active_resources',
    help: 'Handles and requests keeping the event loop alive (timers, sockets, ...) by type.',
    type: 'gauge' as const,
    labels: { type },
    value,
  }));
}

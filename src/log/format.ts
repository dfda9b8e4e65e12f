// One human-readable line per pino record (for -l, the console, and -g log files):
//   2026-11-21 23:40:01.123 INFO  [vrrp] (VI_1) Entering MASTER STATE state=MASTER prio=100
// Pure: takes the JSON line pino produced, returns the text line.

const RESERVED = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'subsystem', 'instance', 'v']);

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

export function formatTime(ms: number): string {
  const d = new Date(ms);
  const ms3 = String(d.getMilliseconds()).padStart(3, '0');
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ` + `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}.${ms3}`;
}

function valueText(v: unknown): string {
  if (typeof v === 'string') return /[\s"=]/.test(v) || v === '' ? JSON.stringify(v) : v;
  if (v !== null && typeof v === 'object') {
    const err = v as { message?: unknown; type?: unknown };
    if (typeof err.message === 'string' && typeof err.type === 'string') return JSON.stringify(err.message);
    return JSON.stringify(v);
  }
  return String(v);
}

/** The level label of a pino record (label or number form). */
export function levelLabel(level: unknown): string {
  if (typeof level === 'string') return level;
  switch (level) {
    case 10:
      return 'trace';
    case 20:
      return 'debug';
    case 30:
      return 'info';
    case 40:
      return 'warn';
    case 50:
      return 'error';
    case 60:
      return 'fatal';
    default:
      return String(level);
  }
}

export function formatRecord(rec: Record<string, unknown>): string {
  const time = typeof rec.time === 'number' ? rec.time : typeof rec.time === 'string' ? Date.parse(rec.time) : Date.now();
  const level = levelLabel(rec.level).toUpperCase().padEnd(5);
  const sub = typeof rec.subsystem === 'string' ? ` [${rec.subsystem}]` : '';
  // engines may already start the message with keepalived's "(VI_1)": do not repeat it
  const inst = typeof rec.instance === 'string' && !(typeof rec.msg === 'string' && rec.msg.startsWith(`(${rec.instance})`)) ? ` (${rec.instance})` : '';
  const msg = typeof rec.msg === 'string' ? ` ${rec.msg}` : '';
  const extras = Object.keys(rec)
    .filter((k) => !RESERVED.has(k) && rec[k] !== undefined)
    .map((k) => `${k}=${valueText(rec[k])}`);
  return `${formatTime(time)} ${level}${sub}${inst}${msg}${extras.length ? ' ' + extras.join(' ') : ''}`;
}

/** Format a JSON line from pino; a line that is not JSON is returned as it is. */
export function formatLine(line: string): string {
  try {
    const rec = JSON.parse(line) as unknown;
    if (rec && typeof rec === 'object' && !Array.isArray(rec)) return formatRecord(rec as Record<string, unknown>);
  } catch {
    /* not JSON */
  }
  return line.replace(/\n$/, '');
}

// Scrapes tskeepalived /metrics endpoints from inside a lab namespace (the bench itself runs
// outside it), printing one JSON line per scrape: { t, url, ok, series: { "name{labels}": value } }.
//   node dist/bench/soak/hostile-scraper.js INTERVAL_MS MAX_SECONDS URL...
// Only the series the hostile-packets soak reads are kept.
const [intervalMs, maxSeconds, ...urls] = [Number(process.argv[2]), Number(process.argv[3]), ...process.argv.slice(4)];
const KEEP = /^(tskeepalived_vrrp_|tskeepalived_event_loop_|process_resident_memory_bytes|tskeepalived_uncaught_errors_total)/;

export function parseMetrics(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#') || !KEEP.test(line)) continue;
    const sp = line.lastIndexOf(' ');
    out[line.slice(0, sp)] = Number(line.slice(sp + 1));
  }
  return out;
}

async function scrape(url: string): Promise<void> {
  const t = Date.now();
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(Math.max(500, intervalMs)) });
    const series = parseMetrics(await r.text());
    process.stdout.write(JSON.stringify({ t, url, ok: r.ok, series }) + '\n');
  } catch (e) {
    process.stdout.write(JSON.stringify({ t, url, ok: false, error: (e as Error).message }) + '\n');
  }
}

if (urls.length) {
  const end = Date.now() + maxSeconds * 1000;
  const loop = async () => {
    if (Date.now() > end) return;
    await Promise.all(urls.map(scrape));
    setTimeout(loop, intervalMs);
  };
  void loop();
}

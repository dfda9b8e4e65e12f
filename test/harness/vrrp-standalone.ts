// Test harness: a minimal VRRP-only runner (keepalived -P), spawned by test/vrrp-helpers.ts
// (startTsNode) through vrrp-standalone-cli.ts. It loads the config, runs the VRRP engine on the real
// network, SIGTERM/SIGINT -> stop and exit 0, SIGHUP -> reload. The daemon composes VrrpEngine itself.
import { readFile, writeFile, unlink } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { writeAtomic } from '../../src/util/write-atomic.js';
import type { CliOptions } from '../../src/cli/options.js';
import { loadConfig } from '../../src/config/load.js';
import type { Diagnostic, KeepalivedConfig } from '../../src/config/model.js';
import { createLogger, logOptionsFromCli } from '../../src/log/logger.js';
import { createNetIo } from '../../src/daemon/vrrp-net-io.js';
import { VrrpEngine } from '../../src/vrrp/engine.js';
import type { VrrpNetIo } from '../../src/vrrp/io.js';

/** Load a keepalived.conf through src/config/load.ts; a .json file is taken as a ready KeepalivedConfig. */
export async function loadVrrpConfig(path: string, configId?: string): Promise<{ config: KeepalivedConfig; diagnostics: Diagnostic[] }> {
  if (path.endsWith('.json')) {
    const text = await readFile(path, 'utf8');
    try {
      return { config: JSON.parse(text) as KeepalivedConfig, diagnostics: [] };
    } catch (e) {
      throw new Error(`invalid JSON: ${(e as Error).message}`);
    }
  }
  return loadConfig(path, { configId });
}

/** The daemon's logger setup (src/log), as a VRRP child logger. */
export async function standaloneLogger(opts: CliOptions): Promise<Logger> {
  return (await createLogger(logOptionsFromCli(opts))).logger.child({ subsystem: 'vrrp' });
}

async function writePid(path: string | undefined): Promise<void> {
  if (path) await writeFile(path, `${process.pid}\n`).catch(() => undefined);
}

export async function runVrrpStandalone(opts: CliOptions, deps: { io?: VrrpNetIo; logger?: Logger } = {}): Promise<void> {
  const log = deps.logger ?? (await standaloneLogger(opts));
  const file = resolve(opts.useFile);
  let loaded;
  try {
    loaded = await loadVrrpConfig(file, opts.configId);
  } catch (e) {
    log.fatal(`${file}: ${(e as Error).message}`);
    process.exitCode = 4;
    return;
  }
  for (const d of loaded.diagnostics) if (d.severity !== 'info') log.warn(`${d.file ?? file}:${d.line ?? 0}: ${d.message}`);
  if (loaded.diagnostics.some((d) => d.severity === 'fatal')) {
    process.exitCode = 4;
    return;
  }
  const io = deps.io ?? (await createNetIo());
  const engine = new VrrpEngine({ io, logger: log });
  await writePid(opts.pidFile);
  await writePid(opts.vrrpPidFile);
  await engine.start(loaded.config);
  let stopping = false;
  const stop = async (sig: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`Received ${sig}, stopping`);
    await engine.stop({ release: !opts.dontReleaseVrrp });
    for (const p of [opts.pidFile, opts.vrrpPidFile]) if (p) await unlink(p).catch(() => undefined);
    log.info('Stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGHUP', () => {
    log.info('Reloading');
    loadVrrpConfig(file, opts.configId)
      .then((r) => {
        if (r.diagnostics.some((d) => d.severity === 'fatal')) {
          log.error('new configuration has fatal errors, keeping the running one');
          return;
        }
        return engine.reload(r.config);
      })
      .catch((e) => log.error(`reload failed: ${(e as Error).message}`));
  });
  // keepalived writes /tmp/keepalived.data (SIGUSR1) and /tmp/keepalived.stats (SIGUSR2); TKV_DUMP_DIR moves them
  const dumpDir = process.env.TKV_DUMP_DIR ?? '/tmp';
  const dump = (name: string, text: string) => {
    try {
      writeAtomic(`${dumpDir}/${name}`, text);
    } catch (e) {
      log.error(`cannot write ${dumpDir}/${name}: ${(e as Error).message}`);
    }
  };
  process.on('SIGUSR1', () => dump('keepalived.data', engine.dumpData()));
  process.on('SIGUSR2', () => dump('keepalived.stats', engine.dumpStats()));
}

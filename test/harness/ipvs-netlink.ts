// The IPVS backend alone, in the network namespace it is started in (`ip netns exec NS node ...`):
//   read             prints the kernel's services and destinations (GET_SERVICE/GET_DEST dumps) as JSON
//   apply            reads an LbState as JSON on stdin, applies it, prints what the kernel then has
//   release          removes the services of the LbState on stdin (apply, then close with release)
//   serve            one LbState per stdin line, each applied in turn; one output line per state (one
//                    process for a sequence of states: a Node start costs seconds under TCG)
// Output: one JSON line {state, save, batches, requests}; `save` is the state as `ipvsadm -S -n` prints it.
import { formatIpvsadmSave } from '../../src/lb/ipvsadm-format.js';
import type { LbState } from '../../src/lb/backend.js';
import { IpvsNetlinkBackend } from '../../src/lb/ipvs-netlink.js';

async function stdinJson(): Promise<LbState> {
  let text = '';
  for await (const chunk of process.stdin) text += String(chunk);
  return JSON.parse(text) as LbState;
}

async function main(cmd: string): Promise<void> {
  const b = new IpvsNetlinkBackend();
  await b.open();
  if (cmd === 'apply' || cmd === 'release') await b.apply(await stdinJson());
  const state = await b.readKernel();
  if (cmd === 'release') await b.close({ release: true });
  else await b.close({ release: false });
  const after = cmd === 'release' ? await readAgain() : state;
  process.stdout.write(`${JSON.stringify({ state: after, save: formatIpvsadmSave(after), batches: b.batches, requests: b.requests })}\n`);
}

async function readAgain(): Promise<LbState> {
  const b = new IpvsNetlinkBackend();
  await b.open();
  const s = await b.readKernel();
  await b.close({ release: false });
  return s;
}

async function serve(): Promise<void> {
  const b = new IpvsNetlinkBackend();
  await b.open();
  let buf = '';
  for await (const chunk of process.stdin) {
    buf += String(chunk);
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (!line.trim()) continue;
      await b.apply(JSON.parse(line) as LbState);
      const state = await b.readKernel();
      process.stdout.write(`${JSON.stringify({ state, save: formatIpvsadmSave(state), batches: b.batches, requests: b.requests })}\n`);
    }
  }
  await b.close({ release: false });
}

(process.argv[2] === 'serve' ? serve() : main(process.argv[2] ?? 'read')).catch((e: Error) => {
  process.stderr.write(`ipvs-netlink harness: ${e.message}\n`);
  process.exit(1);
});

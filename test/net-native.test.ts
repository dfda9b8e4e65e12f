// The addon's generic surface over AF_UNIX datagram sockets (no privileges needed).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { AF_UNIX, SOCK_DGRAM, SOL_SOCKET, SO_RCVBUF } from '../src/native/constants.js';
import { native } from '../src/native/addon.js';
import { SystemError } from '../src/native/errno.js';
import { RawSocket } from '../src/native/raw-socket.js';
import { decodeSockaddr, sockaddrUn } from '../src/native/sockaddr.js';
import { modUrl } from './net-lab.js';

const name = (tag: string): string => `@tkn-${process.pid}-${tag}`;

describe('native socket layer', () => {
  it('socket/bind/sendmsg/recvmsg/poll round trip with the sender address', async () => {
    const a = RawSocket.open(AF_UNIX, SOCK_DGRAM, 0, 'a');
    const b = RawSocket.open(AF_UNIX, SOCK_DGRAM, 0, 'b');
    try {
      a.bind(sockaddrUn(name('a')));
      b.bind(sockaddrUn(name('b')));
      const got = new Promise<{ data: string; from: unknown }>((resolve) =>
        a.onMessage((m) => resolve({ data: m.data.toString(), from: decodeSockaddr(m.name) })),
      );
      assert.equal(b.send(Buffer.from('hello'), sockaddrUn(name('a'))), 5);
      const r = await got;
      assert.equal(r.data, 'hello');
      assert.deepEqual(r.from, { family: 'unix', path: name('b') });
      assert.equal(a.receive(), null, 'nothing more queued: EAGAIN is null');
      assert.ok(a.getIntOption(SOL_SOCKET, SO_RCVBUF) > 0);
    } finally {
      a.close();
      b.close();
    }
  });

  it('returns -errno values and names them', () => {
    const n = native();
    assert.equal(n.socket(12345, SOCK_DGRAM, 0), -97); // EAFNOSUPPORT
    assert.equal(n.close(1_000_000), -9); // EBADF
    assert.equal(n.pollStop(1_000_000), -2); // ENOENT: no watcher
    const s = RawSocket.open(AF_UNIX, SOCK_DGRAM, 0, 'c');
    s.bind(sockaddrUn(name('c')));
    const t = RawSocket.open(AF_UNIX, SOCK_DGRAM, 0, 'd');
    try {
      assert.throws(
        () => t.bind(sockaddrUn(name('c'))),
        (e: unknown) => e instanceof SystemError && e.code === 'EADDRINUSE' && /bind \(d: bind\) failed: EADDRINUSE/.test(e.message),
      );
      assert.throws(() => n.sendmsg(s.fd, 'x' as never, null, null), /data, sockaddr and cmsg must be Buffers/);
      assert.throws(() => n.socket('x' as never, 1, 0), /integers expected/);
    } finally {
      s.close();
      t.close();
    }
    assert.throws(() => s.bind(sockaddrUn(name('e'))), /is closed/);
  });

  it('an exception thrown in a readable callback is an ordinary uncaught exception; unref lets the process exit', () => {
    const code = `
      const { RawSocket } = await import(${JSON.stringify(modUrl('src/native/raw-socket.js'))});
      const { sockaddrUn } = await import(${JSON.stringify(modUrl('src/native/sockaddr.js'))});
      const a = RawSocket.open(1, 2, 0, 'a');
      a.bind(sockaddrUn('@tkn-' + process.pid + '-x'));
      process.on('uncaughtException', (e) => { console.log('caught: ' + e.message); a.close(); });
      a.onMessage(() => { throw new Error('boom in callback'); });
      const b = RawSocket.open(1, 2, 0, 'b');
      b.send(Buffer.from('x'), sockaddrUn('@tkn-' + process.pid + '-x'));
      b.close();
      // an idle, unref'd watcher must not keep the process alive
      const idle = RawSocket.open(1, 2, 0, 'idle');
      idle.bind(sockaddrUn('@tkn-' + process.pid + '-idle'));
      idle.onReadable(() => {}, false);
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 5000 });
    assert.equal(r.signal, null, 'exited by itself');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /caught: boom in callback/);
  });
  it('connect: a connected datagram socket sends without an address; the peer gone is ECONNREFUSED', async () => {
    const a = RawSocket.open(AF_UNIX, SOCK_DGRAM, 0, 'ca');
    const b = RawSocket.open(AF_UNIX, SOCK_DGRAM, 0, 'cb');
    try {
      a.bind(sockaddrUn(name('ca')));
      b.connect(sockaddrUn(name('ca')));
      const got = new Promise<string>((resolve) => a.onMessage((m) => resolve(m.data.toString())));
      assert.equal(b.send(Buffer.from('hi')), 2);
      assert.equal(await got, 'hi');
      assert.throws(
        () => b.connect(sockaddrUn(name('nobody'))),
        (e: unknown) => e instanceof SystemError && e.code === 'ECONNREFUSED',
      );
    } finally {
      a.close();
      b.close();
    }
  });

  it('signal pipe: real-time signals Node cannot catch reach a listener, coalesced, without ending the process', async () => {
    const { realtimeSignalRange, watchSignals } = await import('../src/native/signals.js');
    const { min, max } = realtimeSignalRange();
    assert.ok(min >= 32 && max > min + 2, `SIGRTMIN ${min}, SIGRTMAX ${max}`);
    const seen: number[] = [];
    let wake: () => void = () => {};
    const stop = watchSignals([min + 2, max - 1], (s) => {
      seen.push(s);
      wake();
    });
    try {
      const twice = new Promise<void>((r) => (wake = () => seen.length >= 2 && r()));
      process.kill(process.pid, min + 2);
      process.kill(process.pid, max - 1);
      await Promise.race([twice, new Promise((_, rej) => setTimeout(() => rej(new Error(`signals seen: ${seen}`)), 5000))]);
      assert.deepEqual([...seen].sort(), [min + 2, max - 1].sort());
    } finally {
      stop();
    }
    // after stop(): the handler stays (no default action) and the signal is dropped
    process.kill(process.pid, min + 2);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(seen.length, 2);
  });
});

// OutageBackoff: the reconnect rhythm shared by the D-Bus service and the SNMP subagent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OutageBackoff } from '../src/util/outage-backoff.js';

test('OutageBackoff: one warning per outage, the delay doubles to the cap, back to the minimum once connected', () => {
  const b = new OutageBackoff(200, 1000);
  assert.deepEqual(
    [b.failed(), b.failed(), b.failed(), b.failed()],
    [
      { first: true, waitMs: 200 },
      { first: false, waitMs: 400 },
      { first: false, waitMs: 800 },
      { first: false, waitMs: 1000 },
    ],
  );
  assert.equal(b.connected(), true, 'an outage ended');
  assert.equal(b.connected(), false, 'no outage to end');
  assert.deepEqual(b.failed(), { first: true, waitMs: 200 });
  assert.deepEqual(new OutageBackoff().failed(), { first: true, waitMs: 1000 }, 'keepalived-like defaults: 1 s doubling to 30 s');
});

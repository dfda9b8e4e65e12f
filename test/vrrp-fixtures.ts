// Packets captured from keepalived (test/fixtures/vrrp/*.hex: hex with '#' comment lines).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const FIX = join(process.cwd(), 'test/fixtures/vrrp');

export function fixture(name: string): Buffer {
  const hex = readFileSync(join(FIX, name), 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .join('')
    .replace(/\s+/g, '');
  return Buffer.from(hex, 'hex');
}

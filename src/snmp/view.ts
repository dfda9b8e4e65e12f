// A MIB view: the objects of the registered subtrees with their values, in OID order, answering
// Get / GetNext / GetBulk search ranges by binary search. Built from the live engines by the MIB
// builders (keepalived-mib.ts, rfc-mibs.ts); the subagent decides how long one view is reused.
import { compareOid, type Oid, type SearchRange, T, type Value, type VarBind } from './agentx.js';

export class MibView {
  private readonly entries: VarBind[];

  constructor(entries: VarBind[]) {
    this.entries = entries.sort((a, b) => compareOid(a.oid, b.oid));
  }

  get size(): number {
    return this.entries.length;
  }

  all(): readonly VarBind[] {
    return this.entries;
  }

  /** index of the first entry >= oid (or > oid when !inclusive) */
  private lowerBound(oid: Oid, inclusive: boolean): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = compareOid(this.entries[mid].oid, oid);
      if (c < 0 || (c === 0 && !inclusive)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  get(oid: Oid): Value {
    const i = this.lowerBound(oid, true);
    const e = this.entries[i];
    if (e && compareOid(e.oid, oid) === 0) return e.value;
    return { type: T.noSuchInstance };
  }

  /** The next object in the range (start excluded unless include), or endOfMibView at start. */
  getNext(r: SearchRange): VarBind {
    const i = this.lowerBound(r.start, r.include);
    const e = this.entries[i];
    if (e && (r.end.length === 0 || compareOid(e.oid, r.end) < 0)) return e;
    return { oid: r.start, value: { type: T.endOfMibView } };
  }

  /** RFC 2741 §7.2.3.3: non-repeaters once, then up to maxRepetitions rounds over the repeaters. */
  getBulk(ranges: SearchRange[], nonRepeaters: number, maxRepetitions: number, limit = 10000): VarBind[] {
    const out: VarBind[] = [];
    const nr = Math.min(nonRepeaters, ranges.length);
    for (let i = 0; i < nr; i++) out.push(this.getNext(ranges[i]));
    const rep = ranges.slice(nr).map((r) => ({ ...r }));
    for (let round = 0; round < maxRepetitions && rep.length > 0 && out.length < limit; round++) {
      let allEnd = true;
      for (const r of rep) {
        const vb = this.getNext(r);
        out.push(vb);
        if (vb.value.type !== T.endOfMibView) {
          allEnd = false;
          r.start = vb.oid;
          r.include = false;
        }
      }
      if (allEnd) break;
    }
    return out;
  }
}

// The include file tskeepalived owns for BIRD 2: two `protocol static` (NAME4, NAME6) holding the
// announced VIPs as blackhole host routes with their BGP attributes. The text depends only on
// the routes (sorted), so an unchanged set gives an unchanged file.
import type { BgpRoute } from './types.js';

function attrStatements(r: BgpRoute): string[] {
  const s: string[] = [];
  if (r.attrs.med !== undefined) s.push(`bgp_med = ${r.attrs.med};`);
  if (r.attrs.localPref !== undefined) s.push(`bgp_local_pref = ${r.attrs.localPref};`);
  for (const c of r.attrs.communities) s.push(`bgp_community.add((${c.split(':').join(',')}));`);
  for (const c of r.attrs.largeCommunities) s.push(`bgp_large_community.add((${c.split(':').join(',')}));`);
  return s;
}

function routeLine(r: BgpRoute): string {
  const s = attrStatements(r);
  return s.length ? `  route ${r.prefix} blackhole { ${s.join(' ')} };` : `  route ${r.prefix} blackhole;`;
}

/** The whole include file for these routes. */
export function renderBirdRoutes(protocolName: string, routes: readonly BgpRoute[]): string {
  const sorted = [...routes].sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0));
  const out = [
    '# Managed by tskeepalived: rewritten on every change, emptied when tskeepalived stops or dies.',
    '# Do not edit. Include it from bird.conf; export these protocols to your BGP sessions and not',
    '# to the kernel (they are blackhole routes that only carry the announcement).',
  ];
  for (const fam of [4, 6] as const) {
    out.push(`protocol static ${protocolName}${fam} {`, `  ipv${fam};`);
    for (const r of sorted) if (r.family === fam) out.push(routeLine(r));
    out.push('}');
  }
  // BIRD keeps a MED on an eBGP session only when the export filter sets it: use this filter
  out.push(
    `filter ${protocolName}_export {`,
    `  if proto = "${protocolName}4" || proto = "${protocolName}6" then {`,
    '    if defined(bgp_med) then bgp_med = bgp_med;',
    '    accept;',
    '  }',
    '  reject;',
    '}',
  );
  return `${out.join('\n')}\n`;
}

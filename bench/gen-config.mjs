// Generates a large valid keepalived.conf (default ~215,000 lines) on stdout or to a file.
// usage: node bench/gen-config.mjs [LINES] [OUT]
import { writeFileSync } from 'node:fs';

export function generateConfig(targetLines = 215000) {
  const out = ['global_defs {', '    router_id bench', '}'];
  let vrid = 1;
  let vs = 0;
  while (out.length < targetLines) {
    if (vs % 20 === 0 && vrid <= 255) {
      out.push(
        `vrrp_instance VI_${vrid} {`, '    state BACKUP', '    interface eth0', `    virtual_router_id ${vrid}`,
        '    priority 100', '    advert_int 1', '    virtual_ipaddress {',
        `        10.${(vrid >> 8) & 255}.${vrid & 255}.1/32`, '    }', '}',
      );
      vrid++;
    }
    const a = vs + 1;
    out.push(`virtual_server 10.200.${(a >> 8) & 255}.${a & 255} 80 {`, '    delay_loop 10', '    lvs_sched wrr',
      '    lvs_method NAT', '    protocol TCP');
    for (let r = 1; r <= 4; r++) {
      out.push(`    real_server 10.201.${(a >> 8) & 255}.${(a + r) & 255} 8080 {`, `        weight ${r}`, '        HTTP_GET {',
        '            url {', '                path /healthz', '                status_code 200', '            }',
        '            connect_timeout 3', '            retry 2', '            delay_before_retry 1', '        }', '    }');
    }
    out.push('}');
    vs++;
  }
  return out.join('\n') + '\n';
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const text = generateConfig(Number(process.argv[2] ?? 215000));
  if (process.argv[3]) writeFileSync(process.argv[3], text);
  else process.stdout.write(text);
}

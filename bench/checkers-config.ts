// The checker benches' keepalived.conf (bench:checkers and bench:checkers-heap): no side effects, so
// both can import it.

/**
 * The bench's keepalived.conf: V virtual servers x R real servers (the R test servers), HTTP_GET on
 * /health with keepalived's defaults otherwise; the same text is given to keepalived.
 */
export function benchConfig(vs: number, rs: number, delaySec: number, targets: { address: string; port: number }[]): string {
  const out: string[] = ['global_defs {', '    router_id bench', '}'];
  for (let v = 0; v < vs; v++) {
    out.push(
      `virtual_server 10.${(v >> 16) & 255}.${(v >> 8) & 255}.${v & 255} 80 {`,
      `    delay_loop ${delaySec}`,
      '    lb_algo wrr',
      '    lb_kind NAT',
      '    protocol TCP',
    );
    for (const t of targets.slice(0, rs))
      out.push(
        `    real_server ${t.address} ${t.port} {`,
        '        weight 1',
        '        HTTP_GET {',
        '            url {',
        '                path /health',
        '            }',
        '            connect_timeout 3',
        '            retry 1',
        '            delay_before_retry 1',
        '        }',
        '    }',
      );
    out.push('}');
  }
  return out.join('\n') + '\n';
}

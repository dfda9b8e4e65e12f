// Table-driven keyword dispatch: one Map per block, one handler per keyword.
import type { ConfNode } from '../parser/ast.js';
import type { BuildContext } from './context.js';
import type { RawKeyword } from './model.js';

export type Handler<T> = (ctx: BuildContext, node: ConfNode, target: T) => void;

/** 'model' = the value lands in a typed field; 'raw' = accepted and kept in the node's raw list. */
export type KeywordStatus = 'model' | 'raw';

export interface KeywordSpec<T> {
  handler: Handler<T>;
  status: KeywordStatus;
}

export interface HasRaw {
  raw?: RawKeyword[];
}

export function toRaw(node: ConfNode): RawKeyword {
  const r: RawKeyword = { keyword: node.keyword, args: node.args, loc: node.loc };
  if (node.children) r.children = node.children.map(toRaw);
  return r;
}

const keepRaw: Handler<HasRaw> = (_ctx, node, target) => {
  (target.raw ??= []).push(toRaw(node));
};

export class KeywordTable<T extends HasRaw> {
  readonly specs = new Map<string, KeywordSpec<T>>();

  constructor(readonly block: string) {}

  model(keyword: string | string[], handler: Handler<T>): this {
    for (const k of typeof keyword === 'string' ? [keyword] : keyword) this.specs.set(k, { handler, status: 'model' });
    return this;
  }

  raw(...keywords: string[]): this {
    for (const k of keywords) this.specs.set(k, { handler: keepRaw as Handler<T>, status: 'raw' });
    return this;
  }

  /** Kept raw, after a side effect (e.g. a flag other checks need). */
  rawWith(keyword: string, effect: Handler<T>): this {
    this.specs.set(keyword, {
      handler: (ctx, node, target) => {
        effect(ctx, node, target);
        (target.raw ??= []).push(toRaw(node));
      },
      status: 'raw',
    });
    return this;
  }

  /** Walk the children of a block, dispatching each keyword; unknown keywords are reported. */
  walk(ctx: BuildContext, nodes: ConfNode[] | undefined, target: T): void {
    if (!nodes) return;
    const specs = this.specs;
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i];
      const spec = specs.get(n.keyword);
      if (spec !== undefined) spec.handler(ctx, n, target);
      else {
        ctx.error(n, `Unknown keyword '${n.keyword}'`);
        // keepalived ignores the '{' of an unknown keyword and reads the block's lines at this level
        if (n.children) {
          ctx.error(n.openLoc ?? n, "Unexpected '{' - ignoring", 'BLOCK_UNEXPECTED_OPEN');
          this.walk(ctx, n.children, target);
        }
      }
    }
  }
}

import type { Scope } from '../state/Scope.js';
import type { WriteOptions } from '../state/StateManager.js';
import type { DemoContext } from './demoContext.js';
import { previewJson } from './output.js';

/** Writes through the runtime and remembers the value, so that the verifying step can compare. */
export async function write(ctx: DemoContext, scope: Scope, key: string, value: unknown, options?: WriteOptions): Promise<void> {
  await ctx.runtime().state.set(scope, key, value, options);
  remember(ctx, scope, key, value);
  ctx.say(`${ctx.styles.cyan(`${scope} ${key}`)} = ${previewJson(value)}`);
}

/** Records a value the store must hold, written by the demo or on its behalf (a transaction, a hook). */
export function remember(ctx: DemoContext, scope: Scope, key: string, value: unknown): void {
  const text = scope.toString();
  let entry = ctx.written.get(text);
  if (entry === undefined) {
    entry = { scope, values: new Map() };
    ctx.written.set(text, entry);
  }
  entry.values.set(key, JSON.parse(JSON.stringify(value)));
}

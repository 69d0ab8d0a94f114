/**
 * The hook of `llmstate demo`: when an agent writes a `draft`, it asks the reviewer to read it, by
 * returning a follow-up write to `agent:reviewer inbox`. It runs in a worker thread, so it is a plain
 * ES module with a default export that imports nothing from the runtime (only types, which compile away).
 */
import type { HookAction, HookContext, HookEvent, HookResult } from '../hooks/types.js';

export default async function reviewRequest(events: HookEvent[], ctx: HookContext): Promise<HookResult> {
  const actions: HookAction[] = [];
  for (const event of events) {
    if (event.kind !== 'state.set' || event.scope === undefined || event.key === undefined) continue;
    const text = (event.value as { text?: unknown } | undefined)?.text;
    const words = typeof text === 'string' ? text.split(/\s+/).filter(Boolean).length : 0;
    actions.push({
      type: 'set',
      scope: 'agent:reviewer',
      key: 'inbox',
      value: { review: `${event.scope} ${event.key}`, words, requestedBy: ctx.hookName },
    });
  }
  return { actions, output: { reviewRequests: actions.length } };
}

import type { EventKind } from '../../src/events/eventKinds.js';

interface ChangedEvent {
  kind: EventKind;
  scope?: string;
  key?: string;
}

/**
 * Built-in `cacheInvalidation`: the distinct keys (or whole scopes, for a clear) that changed. The
 * runtime hands them to the keyspace given at registration.
 */
export default function cacheInvalidation(events: ChangedEvent[]) {
  const seen = new Set<string>();
  const invalidate: { scope: string; key?: string }[] = [];
  for (const { kind, scope, key } of events) {
    if (scope === undefined || !(kind === 'state.set' || kind === 'state.delete' || kind === 'scope.clear')) continue;
    const entry = kind === 'scope.clear' || key === undefined ? { scope } : { scope, key };
    const id = JSON.stringify(entry);
    if (seen.has(id)) continue;
    seen.add(id);
    invalidate.push(entry);
  }
  return { output: { invalidate } };
}

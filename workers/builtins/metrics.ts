interface MeasuredEvent {
  at: number;
  kind: string;
  scope?: string;
}

/**
 * Built-in `metrics`: counts events per scope kind and event kind, with how long after its commit each
 * reached the hook. The runtime adds these up in `rt.metrics().hooks.observed`.
 */
export default function metrics(events: MeasuredEvent[]) {
  const now = Date.now();
  const groups: Record<string, { count: number; lagSumMs: number; lagMaxMs: number }> = {};
  for (const event of events) {
    const scopeKind = event.scope === undefined ? 'none' : event.scope.split(':', 1)[0];
    const name = `${scopeKind} ${event.kind}`;
    const group = (groups[name] ??= { count: 0, lagSumMs: 0, lagMaxMs: 0 });
    const lag = Math.max(0, now - event.at);
    group.count++;
    group.lagSumMs += lag;
    group.lagMaxMs = Math.max(group.lagMaxMs, lag);
  }
  return { output: { groups } };
}

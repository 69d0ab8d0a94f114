// A hook: runs in a worker thread on batches of committed events, and may ask for follow-up writes.
export default async function summarise(events, ctx) {
  const actions = events
    .filter((event) => event.kind === 'state.set' && event.key === 'topic')
    .map((event) => ({ type: 'set', scope: event.scope, key: 'summary', value: { topic: event.value.name, by: ctx.hookName } }));
  return { actions, output: { seen: events.length } };
}

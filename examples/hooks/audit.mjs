// A hook that audits every key set: `audit:<key>` gets the value, in the same scope. Used by examples/simulation.ts.
export default async function audit(events) {
  const actions = [];
  for (const event of events) {
    if (event.kind === 'state.set' && !event.key.startsWith('audit:')) actions.push({ type: 'set', scope: event.scope, key: `audit:${event.key}`, value: event.value });
  }
  return { actions };
}

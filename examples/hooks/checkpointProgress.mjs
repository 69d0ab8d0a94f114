// A hook on `langgraph.checkpoint`: keeps each thread's latest checkpoint step in `workflow:<thread id>`, key `latest`.
export default async function checkpointProgress(events) {
  const latest = new Map();
  for (const event of events) latest.set(event.data.threadId, { step: event.data.step, source: event.data.source });
  return { actions: [...latest].map(([threadId, value]) => ({ type: 'set', scope: `workflow:${threadId}`, key: 'latest', value })) };
}

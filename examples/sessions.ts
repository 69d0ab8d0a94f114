/**
 * Sessions and artifacts (docs/sessions.md): a session with a time to live, an artifact linked to the
 * changes that produced it, both ways, and the session collected once its time has passed, across a
 * restart. The clock is injected, so the hour passes at once.
 *
 *   npx tsx examples/sessions.ts [dataDir]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime, Scope } from '../src/index.js';

const dataDir = process.argv[2] ?? mkdtempSync(join(tmpdir(), 'llmstate-sessions-'));
let now = Date.parse('2026-01-01T09:00:00Z');
const clock = { now: () => now };
const HOUR = 3_600_000;

let rt = await createRuntime({ dataDir, clock });
const session = await rt.sessions.start({ id: 'visit-1', ttlMs: HOUR, metadata: { user: 'u1' }, participants: ['agent:ada'] });
console.log(`started ${session.id}, expires ${new Date(session.expiresAt!).toISOString()}`);

const scope = Scope.session(session.id);
await rt.state.set(scope, 'question', 'Which oxides conduct?');
// Every write inside is linked to the report, before the first one is made.
const { correlationId } = await rt.correlate(
  async () => {
    await rt.state.set(scope, 'outline', ['oxides', 'sulfides']);
    await rt.state.set(Scope.agent('ada'), 'notes', 'sulfides conduct best');
  },
  { artifactId: 'report-7.pdf' },
);
await rt.sessions.linkArtifact('question.txt', { sessionId: session.id, scope, key: 'question', kind: 'file' });

const changes = await rt.sessions.changesByArtifact('report-7.pdf');
console.log(`report-7.pdf came from: ${changes.map((change) => `${change.scope} ${change.key}`).join(', ')} (same correlation: ${changes.every((change) => change.correlationId === correlationId)})`);
console.log(`artifacts of agent:ada: ${(await rt.sessions.artifactsOf(Scope.agent('ada'))).map((link) => link.artifactId).join(', ')}`);
console.log(`artifacts of the session: ${(await rt.sessions.artifactsOf({ sessionId: session.id })).map((link) => link.artifactId).join(', ')}`);

await rt.sessions.end(session.id);
console.log(`ended; keys kept: ${(await rt.state.listKeys(scope)).join(', ')}`);
await rt.close();

// An hour later, the session is collected as the runtime opens.
now += HOUR;
rt = await createRuntime({ dataDir, clock });
const collected = await rt.sessions.get(session.id);
console.log(`after the restart: ${collected?.status}, ${collected?.collected?.cleared} keys cleared (${collected?.collected?.reason}), keys left: ${(await rt.state.listKeys(scope)).length}`);
const markers = await rt.events.query({ scope: scope.toString(), kinds: ['session.*'] });
console.log(`markers: ${markers.map((event) => event.kind).join(', ')}`);
await rt.close();

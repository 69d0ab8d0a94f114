/**
 * How soon a change of the administration made in one runtime is in force in another on the same
 * PostgreSQL schema: from the moment B's call resolves until A decides by it. Two runtimes in one process
 * stand for two processes. Usage: POSTGRES_URL=postgres://… node --import tsx bench/probes/adminLatency.ts
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createRuntime, Scope } from '../../src/index.js';

const url = process.env.POSTGRES_URL;
if (url === undefined) throw new Error('Set POSTGRES_URL');
const schema = `probe_admin_${randomBytes(4).toString('hex')}`;
const open = (owner: string) => createRuntime({ storage: { postgres: { connectionString: url, schema } }, leases: { owner } });
const a = await open('a');
const b = await open('b');
const micros = (from: bigint) => Number(process.hrtime.bigint() - from) / 1000;

async function waitUntil(holds: () => boolean): Promise<void> {
  while (!holds()) await new Promise((resolve) => setImmediate(resolve));
}

const grants: number[] = [];
const quarantines: number[] = [];
for (let i = 0; i < 50; i++) {
  const grant = await b.access.grant({ principal: 'agent:ada', scope: Scope.agent(`bob${i}`), permissions: ['read'] });
  let from = process.hrtime.bigint();
  await waitUntil(() => a.access.check('agent:ada', Scope.agent(`bob${i}`), 'read').by === grant.id);
  grants.push(micros(from));
  await b.access.quarantine(`eve${i}`);
  from = process.hrtime.bigint();
  await waitUntil(() => a.access.quarantined().some((each) => each.agentId === `eve${i}`));
  quarantines.push(micros(from));
}
const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)];
const max = (values: number[]) => Math.max(...values);
console.log(`grant in force in the other runtime after: p50 ${median(grants).toFixed(0)} µs, max ${max(grants).toFixed(0)} µs`);
console.log(`quarantine in force in the other runtime after: p50 ${median(quarantines).toFixed(0)} µs, max ${max(quarantines).toFixed(0)} µs`);
await Promise.all([a.close(), b.close()]);
const admin = new pg.Client({ connectionString: url });
await admin.connect();
await admin.query(`DROP SCHEMA "${schema}" CASCADE`);
await admin.end();

/**
 * Schemas and a migration: two versions of an agent's profile, a check before deploying, a dry run, and
 * the migration itself, all or nothing, after a backup.
 *
 *   npx tsx examples/migration.ts [dataDir]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { createRuntime, Scope, steps } from '../src/index.js';

const { renameField, convert, addField } = steps;
const dataDir = process.argv[2] ?? mkdtempSync(join(tmpdir(), 'llmstate-migration-'));
const rt = await createRuntime({ dataDir });

// Version 1, bound to every agent's `profile` key: writes there are validated.
await rt.schemas.register({ name: 'profile', version: '1.0.0', schema: z.object({ name: z.string(), age: z.string() }) });
await rt.schemas.bind('profile', { scopeKind: 'agent', keyPrefix: 'profile' });
for (const [id, name, age] of [['ada', 'Ada Lovelace', '36'], ['alan', 'Alan Turing', '41']]) {
  await rt.state.set(Scope.agent(id), 'profile', { name, age });
}
try {
  await rt.state.set(Scope.agent('bob'), 'profile', { name: 'Bob', age: 7 });
} catch (error) {
  console.log(`refused: ${(error as { code: string }).code}`);
}

// Version 2 renames a field, makes the age a number and adds tags.
await rt.schemas.register({ name: 'profile', version: '2.0.0', schema: z.object({ fullName: z.string(), age: z.number(), tags: z.array(z.string()) }) });
const { level, changes } = rt.schemas.compare('profile@1.0.0', 'profile@2.0.0');
console.log(`1.0.0 → 2.0.0 is ${level}: ${changes.map((change) => `${change.change} ${change.path}`).join(', ')}`);
await rt.migrations.define({ schema: 'profile', from: '1.0.0', to: '2.0.0', steps: [renameField('name', 'fullName'), convert('age', 'number'), addField('tags', [])] });

const check = await rt.migrations.check();
console.log(`check: ok=${check.ok}, ${check.counts.migratable} records to migrate`);
const plan = await rt.migrations.plan('profile');
console.log(`plan: ${plan.chains.map((chain) => `${chain.records} at ${chain.from} via ${chain.steps.map((step) => `${step.from}→${step.to}`).join(', ')}`).join('; ')}`);
const rehearsal = await rt.migrations.run({ schema: 'profile', dryRun: true, samples: 1 });
console.log(`dry run: ${rehearsal.migrated} would change, e.g. ${JSON.stringify(rehearsal.samples[0].before)} → ${JSON.stringify(rehearsal.samples[0].after)}`);

const result = await rt.migrations.run({ schema: 'profile' });
console.log(`migrated ${result.migrated} records after backup ${result.backupId === undefined ? 'none' : 'taken'}`);
console.log('ada now:', JSON.stringify(await rt.state.get(Scope.agent('ada'), 'profile')));
await rt.close();

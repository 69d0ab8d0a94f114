/**
 * Child process for the migration crash test. In `build` mode it writes the test's store: `profile`
 * records under version 1.0.0, then registers 2.0.0 and defines the migration. In `run` mode it migrates
 * them, printing a line at every point it passes, until the parent kills it with SIGKILL:
 *
 *   phase <name> [detail]
 *
 * Points, in the order a migration passes them: `start` (just before `run`), `backup` (the backup's
 * first progress), `prepared` (the journal's marker is written), `migrate` (the first records are in the
 * journal), `journaled` (all of them are), `committing` / `committed` (around the one write that commits
 * the migration), `apply` (the first records are applied to their scopes), `applied` (all of them are),
 * `done` (`run` resolved), `idle`.
 *
 * With `pauseAt`, the process blocks its thread on reaching that point, so that the parent's kill lands
 * exactly there. The marker's writes are seen by wrapping the store's `batch`, as the backup crash child
 * sees the batch of a restore of scopes.
 *
 * Argument: JSON `{ mode: 'build' | 'run', dataDir, agents?, keysPerAgent?, pauseAt? }`.
 */
import { z } from 'zod';
import { createRuntime, Scope, steps } from '../../src/index.js';
import { storageOf } from '../../src/runtime.js';
import { decodeRecord } from '../../src/storage/recordEnvelope.js';

interface ChildRequest {
  mode: 'build' | 'run';
  dataDir: string;
  agents?: number;
  keysPerAgent?: number;
  pauseAt?: string;
}

const request = JSON.parse(process.argv[2]) as ChildRequest;
const { renameField, convert, addField } = steps;

function mark(name: string, detail = ''): void {
  process.stdout.write(`phase ${name}${detail === '' ? '' : ` ${detail}`}\n`);
  if (name === request.pauseAt) {
    process.stdout.write(`paused ${name}\n`);
    // Blocks this thread; the parent kills it. If the parent is gone, give up after a while.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120_000);
    process.exit(3);
  }
}

const rt = await createRuntime({ dataDir: request.dataDir });
// The application registers its schemas at every start; against the built store this writes nothing.
await rt.schemas.register({ name: 'profile', version: '1.0.0', schema: z.object({ name: z.string(), age: z.string() }) });
await rt.schemas.bind('profile', { scopeKind: 'agent', keyPrefix: 'profile' });

if (request.mode === 'build') {
  const agents = request.agents!;
  const keys = request.keysPerAgent!;
  for (let a = 0; a < agents; a++) {
    await rt.state.transaction(Scope.agent(`a${a}`), (tx) => {
      for (let k = 0; k < keys; k++) tx.set(`profile${k}`, { name: `Agent ${a}.${k}`, age: String((a + k) % 100) });
    });
  }
}
await rt.schemas.register({ name: 'profile', version: '2.0.0', schema: z.object({ fullName: z.string(), age: z.number(), tags: z.array(z.string()) }) });
await rt.migrations.define({ schema: 'profile', from: '1.0.0', to: '2.0.0', steps: [renameField('name', 'fullName'), convert('age', 'number'), addField('tags', [])] });

if (request.mode === 'build') {
  await rt.close();
  process.exit(0);
}

const storage = storageOf(rt);
const batch = storage.batch.bind(storage);
storage.batch = async (ops, options) => {
  const marker = ops.find((op) => op.type === 'put' && op.sublevel === 'meta' && op.key.toString('utf8') === 'migration');
  const state = marker?.type === 'put' ? (JSON.parse(decodeRecord(marker.value).payload.toString('utf8')) as { state: string }).state : undefined;
  if (state === 'committed') mark('committing');
  await batch(ops, options);
  if (state === 'committed') mark('committed');
  if (state === 'prepared') mark('prepared');
};

const reached = new Set<string>();
const once = (name: string, detail: string) => {
  if (reached.has(name)) return;
  reached.add(name);
  mark(name, detail);
};
mark('start');
const result = await rt.migrations.run({
  schema: 'profile',
  onProgress: ({ phase, done, total }) => {
    once(phase, `${done}/${total}`);
    if (phase === 'migrate' && done === total) once('journaled', String(done));
    if (phase === 'apply' && done === total) once('applied', String(done));
  },
});
mark('done', `${result.id} ${result.migrated}`);
// The parent kills the process here at the latest.
mark('idle');
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120_000);
process.exit(3);

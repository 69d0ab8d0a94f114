/**
 * One process of PG's process-count measure: a runtime on a shared PostgreSQL schema that sets keys of its
 * own agents only (every `parts`th of P2's 1,000, from `part`: sticky routing), `inFlight` at a time.
 *
 * Driven by JSON lines on stdin: it prints `{ "ready": true }` once its agents are active and warm, runs
 * for `{ "runMs": N }` and prints what it did, and closes its runtime and exits on `{ "close": true }`.
 */
import { createInterface } from 'node:readline';
import { withPostgresRuntime, type Runtime } from './common.js';
import { concurrentSets } from './concurrentSets.js';
import { elapsedNs, inFlight, now, rng } from './harness.js';

export interface WriterOptions {
  url: string;
  schema: string;
  owner: string;
  part: number;
  parts: number;
  inFlight: number;
}

export interface WriterRun {
  sets: number;
  ns: number;
  commits: number;
}

const options = JSON.parse(process.argv[2]!) as WriterOptions;
const { scopes, keys, values } = concurrentSets();
const mine = scopes.filter((_, i) => i % options.parts === options.part);

/** Sets random keys of this process's agents until `ms` have passed. */
async function runFor(rt: Runtime, ms: number, seed: number): Promise<WriterRun> {
  const random = rng(seed);
  const before = rt.metrics().commits.batches;
  const start = now();
  const deadline = start + BigInt(ms) * 1_000_000n;
  let sets = 0;
  const writer = async () => {
    while (now() < deadline) {
      await rt.state.set(mine[(random() * mine.length) | 0], keys[(random() * keys.length) | 0], values[sets & 63]);
      sets++;
    }
  };
  await Promise.all(Array.from({ length: options.inFlight }, writer));
  return { sets, ns: elapsedNs(start), commits: rt.metrics().commits.batches - before };
}

const send = (message: object) => process.stdout.write(`${JSON.stringify(message)}\n`);

await withPostgresRuntime(
  options.url,
  options.schema,
  async (rt) => {
    await inFlight(options.inFlight, mine.length, (i) => rt.state.set(mine[i], keys[0], values[0]));
    await runFor(rt, 1_000, 1);
    send({ ready: true });
    for await (const line of createInterface({ input: process.stdin })) {
      const message = JSON.parse(line) as { runMs?: number; close?: true };
      if (message.close) break;
      send(await runFor(rt, message.runMs!, 2 + options.part));
    }
  },
  options.owner,
);

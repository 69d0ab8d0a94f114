import { setTimeout as sleep } from 'node:timers/promises';
import { createRuntime, type Runtime, type RuntimeOptions } from '../../src/index.js';
import { storageOf } from '../../src/runtime.js';
import type { BatchOp } from '../../src/storage/index.js';
import { freshPostgresSchema, type PostgresTestSchema } from '../support/postgres.js';

/**
 * Runtimes in this test process on one fresh PostgreSQL schema, standing for processes that share a
 * database. Call in a describe: each test gets a new schema, and its runtimes are closed and the schema
 * dropped after it.
 */
export class SharedSchema {
  #schema: PostgresTestSchema | undefined;
  #runtimes: Runtime[] = [];
  /** Added to the real time of every runtime's clock, for a test that moves time on. */
  skew = 0;

  constructor() {
    beforeEach(() => {
      this.#schema = freshPostgresSchema();
      this.#runtimes = [];
      this.skew = 0;
    });
    afterEach(async () => {
      await Promise.allSettled(this.#runtimes.map((rt) => rt.close()));
      await this.#schema?.drop();
    });
  }

  get schema(): PostgresTestSchema {
    if (this.#schema === undefined) throw new Error('SharedSchema is used outside a test');
    return this.#schema;
  }

  /** A runtime on the schema, as process `owner`: leases of a minute, never waited for. */
  async start(owner: string, options: Partial<RuntimeOptions> = {}): Promise<Runtime> {
    const rt = await createRuntime({
      storage: { postgres: { connectionString: this.schema.connectionString, schema: this.schema.schema } },
      leases: { owner, ttlMs: 60_000, waitMs: 0 },
      clock: { now: () => Date.now() + this.skew },
      sessions: { gcIntervalMs: 3_600_000 },
      ...options,
    });
    this.#runtimes.push(rt);
    return rt;
  }

  /** Closes `rt` before the test ends, as a process that stops. */
  async close(rt: Runtime): Promise<void> {
    this.#runtimes = this.#runtimes.filter((one) => one !== rt);
    await rt.close();
  }
}

/** Waits until `holds` is true, however long that takes: the test's timeout is the only bound. */
export async function until(holds: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await holds())) await sleep(5);
}

/** A batch that writes the migration marker, in `state` when one is named. */
export function writesMarker(ops: readonly BatchOp[], state?: 'prepared' | 'committed'): boolean {
  return ops.some((op) => op.sublevel === 'meta' && op.key.toString() === 'migration' && op.type === 'put' && (state === undefined || op.value.includes(`"${state}"`)));
}

/**
 * Holds `rt`'s first batch that `matches` until `resume` is called: `reached` resolves when it is held.
 * Call `resume` in a finally, so that a failing test does not leave it held.
 */
export function holdBatch(rt: Runtime, matches: (ops: readonly BatchOp[]) => boolean): { reached: Promise<void>; resume: () => void } {
  let resume!: () => void;
  const held = new Promise<void>((resolve) => (resume = resolve));
  let reach!: () => void;
  const reached = new Promise<void>((resolve) => (reach = resolve));
  const stop = storageOf(rt).intercept({
    beforeBatch: async (ops) => {
      if (!matches(ops)) return;
      stop();
      reach();
      await held;
    },
  });
  return { reached, resume };
}

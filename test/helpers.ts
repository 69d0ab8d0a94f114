import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime, Scope, type Runtime, type RuntimeOptions } from '../src/index.js';
import { describePostgres, freshPostgresSchema, type PostgresTestSchema } from './support/postgres.js';

/** The stores the invariant suites run on: LevelDB (the embedded default) and PostgreSQL. */
export type StoreKind = 'leveldb' | 'postgres';

/**
 * Registers one suite per store: `title` on LevelDB, and `postgres: title` on PostgreSQL (see
 * describePostgres for when that one runs). `fn` gets the store to hand to {@link RuntimeFixture}.
 */
export function describeEachStore(title: string, fn: (this: Mocha.Suite, store: StoreKind) => void): void {
  describe(title, function () {
    fn.call(this, 'leveldb');
  });
  describePostgres(title, function () {
    fn.call(this, 'postgres');
  });
}

/** Where a runtime of `store` keeps its data: `dataDir`, or a PostgreSQL schema of the test's own. */
export function storeOptions(store: StoreKind, dataDir: string, postgres: PostgresTestSchema | undefined): Pick<RuntimeOptions, 'dataDir' | 'storage'> {
  if (store === 'leveldb') return { dataDir };
  return { storage: { postgres: { connectionString: postgres!.connectionString, schema: postgres!.schema } } };
}

const leftOver = new Set<string>();
// A suite may make its directory as it is declared, and a run filtered by --grep then never runs the
// suite's after hook: whatever was not cleaned up goes when the process ends.
process.once('exit', () => {
  for (const dir of leftOver) rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory, removed by the returned cleanup, or when the process ends. */
export function tempDir(label = 'llmstate-test'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `${label}-`));
  leftOver.add(dir);
  return {
    dir,
    cleanup: () => {
      rmSync(dir, { recursive: true, force: true });
      leftOver.delete(dir);
    },
  };
}

/**
 * Opens runtimes on one store, and closes whatever is still open at the end of a test. The store is a
 * data dir (LevelDB), or a PostgreSQL schema of its own; `dir` is a fresh directory either way (backups
 * and other files go there).
 */
export class RuntimeFixture {
  readonly dir: string;
  readonly store: StoreKind;
  /** The test's own PostgreSQL schema, when the store is PostgreSQL. */
  readonly postgres: PostgresTestSchema | undefined;
  readonly #cleanup: () => void;
  readonly #open = new Set<Runtime>();

  constructor(label?: string, store: StoreKind = 'leveldb') {
    const { dir, cleanup } = tempDir(label);
    this.dir = dir;
    this.store = store;
    this.postgres = store === 'postgres' ? freshPostgresSchema() : undefined;
    this.#cleanup = cleanup;
  }

  /** The options that put a runtime on this fixture's store. */
  get storeOptions(): Pick<RuntimeOptions, 'dataDir' | 'storage'> {
    return storeOptions(this.store, this.dir, this.postgres);
  }

  async open(options: Omit<RuntimeOptions, 'dataDir' | 'memory' | 'storage'> = {}): Promise<Runtime> {
    const rt = await createRuntime({ ...options, ...this.storeOptions });
    this.#open.add(rt);
    return rt;
  }

  async reopen(rt: Runtime, options: Omit<RuntimeOptions, 'dataDir' | 'memory' | 'storage'> = {}): Promise<Runtime> {
    await rt.close();
    this.#open.delete(rt);
    return this.open(options);
  }

  async dispose(): Promise<void> {
    for (const rt of this.#open) await rt.close();
    this.#open.clear();
    this.#cleanup();
    await this.postgres?.drop();
  }
}

/** One scope of every kind. */
export function oneScopeOfEachKind(): Scope[] {
  return [
    Scope.global(),
    Scope.agent('a1'),
    Scope.workflow('w1'),
    Scope.step('w1', 'fetch'),
    Scope.session('s1'),
    Scope.custom('team'),
  ];
}

/** Resolves with the rejection of `promise`, failing if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string; details?: Record<string, unknown> }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('Expected the promise to reject, but it resolved');
}

/** A clock the test moves by hand. */
export class ManualClock {
  #now: number;
  constructor(start = 1_700_000_000_000) {
    this.#now = start;
  }
  now(): number {
    return this.#now;
  }
  advance(ms: number): void {
    this.#now += ms;
  }
}

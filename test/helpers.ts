import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime, Scope, type Runtime, type RuntimeOptions } from '../src/index.js';

/** A fresh directory, removed by the returned cleanup. */
export function tempDir(label = 'llmstate-test'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `${label}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Opens runtimes on one data dir, and closes whatever is still open at the end of a test. */
export class RuntimeFixture {
  readonly dir: string;
  readonly #cleanup: () => void;
  readonly #open = new Set<Runtime>();

  constructor(label?: string) {
    const { dir, cleanup } = tempDir(label);
    this.dir = dir;
    this.#cleanup = cleanup;
  }

  async open(options: Omit<RuntimeOptions, 'dataDir' | 'memory'> = {}): Promise<Runtime> {
    const rt = await createRuntime({ ...options, dataDir: this.dir });
    this.#open.add(rt);
    return rt;
  }

  async reopen(rt: Runtime, options: Omit<RuntimeOptions, 'dataDir' | 'memory'> = {}): Promise<Runtime> {
    await rt.close();
    this.#open.delete(rt);
    return this.open(options);
  }

  async dispose(): Promise<void> {
    for (const rt of this.#open) await rt.close();
    this.#open.clear();
    this.#cleanup();
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

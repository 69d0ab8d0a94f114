/** What several benchmarks share: the runtime under test, and the exact bytes it stores. */
import type { Runtime } from '../src/index.js';
import type { Scope as ScopeClass } from '../src/state/Scope.js';
import { index, keyCodec, recordEnvelope } from './subject.js';

export type { Runtime } from '../src/index.js';
export const { createRuntime, Scope } = index;
export type Scope = ScopeClass;

/** abstract-level's default sublevel prefix for the `state` namespace. */
const STATE_PREFIX = Buffer.from('!state!', 'utf8');

/** The key bytes the runtime writes to LevelDB for (scope, key). */
export function storedKey(scope: Scope, key: string): Buffer {
  return Buffer.concat([STATE_PREFIX, keyCodec.encodeStateKey(scope, key)]);
}

/** The value bytes the runtime writes for `value` (record envelope around its JSON, naming `schema` when given). */
export function storedValue(value: unknown, seq = 1, timestamp = Date.now(), schema?: string): Buffer {
  return recordEnvelope.encodeRecord({ seq, timestamp, ...(schema === undefined ? {} : { schema }) }, JSON.stringify(value));
}

/** Opens a runtime on `dir`, runs `fn`, and always closes the runtime (flushing and closing the store). */
export async function withRuntime<T>(dir: string, fn: (rt: Runtime) => Promise<T>): Promise<T> {
  const rt = await createRuntime({ dataDir: dir });
  try {
    return await fn(rt);
  } finally {
    await rt.close();
  }
}

/** Opens a runtime on a PostgreSQL schema, runs `fn`, and always closes the runtime. */
export async function withPostgresRuntime<T>(url: string, schema: string, fn: (rt: Runtime) => Promise<T>, owner?: string): Promise<T> {
  const rt = await createRuntime({ storage: { postgres: { connectionString: url, schema } }, ...(owner === undefined ? {} : { leases: { owner } }) });
  try {
    return await fn(rt);
  } finally {
    await rt.close();
  }
}

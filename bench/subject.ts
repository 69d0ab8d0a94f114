/**
 * The code the benchmarks measure: the compiled package in `dist/`, which is what users run.
 *
 * The TypeScript sources, run through tsx, pay for esbuild's keepNames transform: every function created
 * at run time is wrapped in `__name(fn, 'name')`, about 2 µs per awaited `set`, which tsc's output never
 * pays. Types still come from the sources. `LLMSTATE_BENCH_FROM=src` measures the sources instead, for a
 * probe that patches a source module.
 */
import { readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type * as Index from '../src/index.js';
import type * as Runtime from '../src/runtime.js';
import type * as KeyCodec from '../src/state/keyCodec.js';
import type * as RecordEnvelope from '../src/storage/recordEnvelope.js';
import type * as EventLog from '../src/events/eventLog.js';
import type * as Storage from '../src/storage/index.js';
import type * as PostgresSql from '../src/storage/postgresSql.js';
import type * as ScopeLifecycle from '../actors/scopeLifecycle.js';
import type * as CommitSchedulerModule from '../actors/CommitScheduler.js';
import type * as ScopeActorModule from '../actors/ScopeActor.js';

const ROOT = new URL('../', import.meta.url);
const FROM_SOURCES = process.env.LLMSTATE_BENCH_FROM === 'src';
const COMPILED_ROOTS = ['src', 'actors', 'supervisors', 'workers'];

/** Loads `path` (a source path such as `src/index.ts`) compiled, or from the sources. */
async function load<T>(sourcePath: string): Promise<T> {
  const path = FROM_SOURCES ? sourcePath : `dist/${sourcePath.replace(/\.ts$/, '.js')}`;
  try {
    return (await import(new URL(path, ROOT).href)) as T;
  } catch (error) {
    if ((error as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND' || FROM_SOURCES) throw error;
    throw new Error(`The benchmarks measure the compiled package, and ${path} is missing: run \`npm run build\` first (\`npm run bench\` does)`);
  }
}

/** The newest modification time of any source file under `dir`. */
function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(`${entry.parentPath}/${entry.name}`).mtimeMs);
  }
  return newest;
}

/** A stale `dist/` would measure yesterday's code without saying so. */
function warnIfStale(): void {
  const root = fileURLToPath(ROOT);
  const built = statSync(`${root}dist/src/index.js`, { throwIfNoEntry: false })?.mtimeMs;
  if (built === undefined) return;
  if (COMPILED_ROOTS.some((dir) => newestSource(`${root}${dir}`) > built)) {
    process.stderr.write('warning: sources changed since the last build; the benchmarks measure dist/ (run `npm run build`)\n');
  }
}

if (!FROM_SOURCES) warnIfStale();

export const index = await load<typeof Index>('src/index.ts');
export const runtimeInternals = await load<typeof Runtime>('src/runtime.ts');
export const keyCodec = await load<typeof KeyCodec>('src/state/keyCodec.ts');
export const recordEnvelope = await load<typeof RecordEnvelope>('src/storage/recordEnvelope.ts');
export const eventLog = await load<typeof EventLog>('src/events/eventLog.ts');
export const storage = await load<typeof Storage>('src/storage/index.ts');
/** The statements the PostgreSQL backend sends, for a raw reference that sends them without the runtime. */
export const postgresSql = await load<typeof PostgresSql>('src/storage/postgresSql.ts');
export const scopeLifecycle = await load<typeof ScopeLifecycle>('actors/scopeLifecycle.ts');

/** For probes that time the inside of a write. */
export const commitSchedulerModule = await load<typeof CommitSchedulerModule>('actors/CommitScheduler.ts');
export const scopeActorModule = await load<typeof ScopeActorModule>('actors/ScopeActor.ts');

type LangGraphIndex = typeof import('../src/langgraph/index.js');
let langGraph: Promise<LangGraphIndex | undefined> | undefined;

/** `llmstate/langgraph`, compiled like the rest, or undefined when this build has none. */
export function langGraphModule(): Promise<LangGraphIndex | undefined> {
  langGraph ??= load<LangGraphIndex>('src/langgraph/index.ts').catch((error: unknown) => {
    if (String((error as Error).message).includes('is missing')) return undefined;
    throw error;
  });
  return langGraph;
}

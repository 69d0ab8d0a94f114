/**
 * The three checkpointers LG (P9) measures, each opened fresh in a temp directory: llmstate's
 * `LlmStateSaver` (the compiled package, like every benchmark), LangGraph's `MemorySaver`, and
 * `SqliteSaver` from @langchain/langgraph-checkpoint-sqlite (better-sqlite3 12; SqliteSaver turns on WAL,
 * and better-sqlite3's build makes `synchronous = NORMAL` the default in WAL mode, so a commit does not
 * fsync, like llmstate's default durability). All three use the same serde, JsonPlusSerializer.
 */
import { createRequire } from 'node:module';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { JsonPlusSerializer, MemorySaver, type BaseCheckpointSaver } from '@langchain/langgraph-checkpoint';
import { SqliteSaver } from '@langchain/langgraph-checkpoint-sqlite';
import { createRuntime, type Runtime } from './common.js';
import { activeStoreDir, compact } from './storeDir.js';
import { langGraphModule } from './subject.js';

export type SaverName = 'llmstate' | 'SqliteSaver' | 'MemorySaver';

export interface OpenSaver {
  saver: BaseCheckpointSaver;
  /** Closes the saver's store (flushing it), after which {@link sizes} may be read. */
  close(): Promise<void>;
  /** What the store holds, once closed: one or more labelled byte counts. */
  sizes(): Promise<Array<{ label: string; bytes: number }>>;
}

export const serde = new JsonPlusSerializer();

const require = createRequire(import.meta.url);

/** The versions measured, for the report. */
export function peerVersions(): string {
  const version = (name: string) => (require(`${name}/package.json`) as { version: string }).version;
  return (
    `@langchain/langgraph-checkpoint ${version('@langchain/langgraph-checkpoint')} (MemorySaver), ` +
    `@langchain/langgraph-checkpoint-sqlite ${version('@langchain/langgraph-checkpoint-sqlite')} with better-sqlite3 ${version('better-sqlite3')} (SqliteSaver), ` +
    `@langchain/core ${version('@langchain/core')}`
  );
}

/** The names of the savers that can run here: llmstate's needs `dist/src/langgraph/`. */
export async function availableSavers(): Promise<SaverName[]> {
  return (await langGraphModule()) === undefined ? ['SqliteSaver', 'MemorySaver'] : ['llmstate', 'SqliteSaver', 'MemorySaver'];
}

export async function openSaver(name: SaverName, dir: string): Promise<OpenSaver> {
  if (name === 'MemorySaver') return openMemory();
  if (name === 'SqliteSaver') return openSqlite(dir);
  return openLlmState(dir);
}

function openMemory(): OpenSaver {
  const saver = new MemorySaver(serde);
  return {
    saver,
    close: async () => {},
    // What MemorySaver keeps: serialised checkpoints, metadata and writes, as Uint8Arrays.
    sizes: async () => [{ label: 'serialised bytes held', bytes: heldBytes(saver.storage) + heldBytes(saver.writes) }],
  };
}

function heldBytes(value: unknown): number {
  if (value instanceof Uint8Array) return value.byteLength;
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (value === null || typeof value !== 'object') return 0;
  let total = 0;
  for (const part of Object.values(value)) total += heldBytes(part);
  return total;
}

function openSqlite(dir: string): OpenSaver {
  const file = join(dir, 'checkpoints.sqlite');
  const saver = SqliteSaver.fromConnString(file);
  return {
    saver,
    close: async () => void saver.db.close(),
    sizes: async () => [{ label: 'database file (its WAL is folded in at close)', bytes: await directoryBytes(dir) }],
  };
}

async function openLlmState(dir: string): Promise<OpenSaver> {
  const { LlmStateSaver } = (await langGraphModule())!;
  let rt: Runtime = await createRuntime({ dataDir: dir });
  const saver = new LlmStateSaver(rt, { serde });
  return {
    saver,
    close: () => rt.close(),
    async sizes() {
      const asClosed = await directoryBytes(dir);
      await compact(await activeStoreDir(dir));
      const compacted = await directoryBytes(dir);
      // The event log holds a commit record per put, which repeats the state it wrote: prune it all.
      rt = await createRuntime({ dataDir: dir });
      try {
        await rt.events.prune({ maxCount: 0 });
      } finally {
        await rt.close();
      }
      await compact(await activeStoreDir(dir));
      return [
        { label: 'data dir after close, with the event log', bytes: asClosed },
        { label: 'compacted, with the event log', bytes: compacted },
        { label: 'compacted, event log pruned', bytes: await directoryBytes(dir) },
      ];
    },
  };
}

/** Bytes of every file under `dir`. */
export async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

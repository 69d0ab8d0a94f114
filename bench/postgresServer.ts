/**
 * The PostgreSQL server that PG runs against, and the schemas it makes there.
 *
 * The server is, in this order: `--postgres URL`; LLMSTATE_BENCH_POSTGRES_URL; or a throwaway cluster that
 * scripts/postgres-throwaway.sh starts for the run, with fsync on, and stops at its end. Without any of
 * them, PG is skipped and says how to give one.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';

export const POSTGRES_URL_VARIABLE = 'LLMSTATE_BENCH_POSTGRES_URL';

const THROWAWAY = fileURLToPath(new URL('../scripts/postgres-throwaway.sh', import.meta.url));
const run = promisify(execFile);

export interface BenchServer {
  readonly url: string;
  /** Where the URL came from, for the report. */
  readonly origin: string;
  /** Stops the server when this run started it; otherwise does nothing. */
  stop(): Promise<void>;
}

export const NO_SERVER =
  `no PostgreSQL server was given and none could be started. Pass --postgres postgres://user@host:5432/db, or set ${POSTGRES_URL_VARIABLE}, ` +
  "or install PostgreSQL's server programs (Debian: apt-get install postgresql) so that a throwaway server is started for the run";

/** The server to use, or undefined when there is none (see NO_SERVER). */
export async function benchServer(given: string | undefined, log: (message: string) => void): Promise<BenchServer | undefined> {
  const url = given ?? (process.env[POSTGRES_URL_VARIABLE] || undefined);
  if (url !== undefined) return { url, origin: `given by ${given === undefined ? POSTGRES_URL_VARIABLE : '--postgres'}`, stop: async () => {} };
  try {
    await run('bash', [THROWAWAY, 'bindir']);
  } catch {
    return undefined;
  }
  const dir = await mkdtemp(join(tmpdir(), 'llmstate-bench-postgres-'));
  log(`starting a throwaway PostgreSQL server (fsync on) in ${dir}`);
  const stopNow = () => execFileSync('bash', [THROWAWAY, 'stop', dir], { stdio: 'ignore' });
  // An interrupted run stops its server too; the benchmark's own cleanup does not run then.
  const onSignal = (signal: NodeJS.Signals) => {
    stopNow();
    process.kill(process.pid, signal);
  };
  const started = await run('bash', [THROWAWAY, 'start', dir], { env: { ...process.env, LLMSTATE_PG_FSYNC: 'on' } }).catch((error: unknown) => {
    stopNow();
    throw error;
  });
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  return {
    url: started.stdout.trim(),
    origin: `a throwaway server in ${dir}, stopped at the end`,
    stop: async () => {
      process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
      await run('bash', [THROWAWAY, 'stop', dir]);
    },
  };
}

/** The settings that decide what a commit costs, as `name value` pairs. */
export async function serverSettings(url: string): Promise<Record<string, string>> {
  const names = ['server_version', 'fsync', 'synchronous_commit', 'wal_sync_method', 'shared_buffers', 'full_page_writes'];
  return withClient(url, async (client) => {
    const settings: Record<string, string> = {};
    for (const name of names) settings[name] = (await client.query(`SHOW ${name}`)).rows[0][name];
    return settings;
  });
}

/** A schema name no other run uses: `pgbench_<label>_<pid>_<random>`. Not created; drop it with dropSchema. */
export function freshSchema(label: string): string {
  return `pgbench_${label}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

export function dropSchema(url: string, schema: string): Promise<void> {
  return withClient(url, async (client) => void (await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)));
}

/** Runs `fn` on a fresh schema of the server, and drops the schema afterwards, whatever happens. */
export async function withSchema<T>(url: string, label: string, fn: (schema: string) => Promise<T>): Promise<T> {
  const schema = freshSchema(label);
  try {
    return await fn(schema);
  } finally {
    await dropSchema(url, schema);
  }
}

export async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

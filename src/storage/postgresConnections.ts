import type pg from 'pg';
import { loadPg } from './pgDriver.js';

const BYTEA = 17;

/**
 * bytea in text form: hex (`\x…`, the default `bytea_output`) or the older escape form. Decoded here rather
 * than through pg's per-statement binary results, which pg 8 reads as UTF-8 text first and so mangles.
 */
export function parseBytea(text: string): Buffer {
  if (text.startsWith('\\x')) return Buffer.from(text.slice(2), 'hex');
  const bytes: number[] = [];
  // The escape form is ASCII: a byte outside printable ASCII is \nnn in octal, and a backslash is \\.
  for (let i = 0; i < text.length; ) {
    if (text[i] !== '\\') {
      bytes.push(text.charCodeAt(i));
      i += 1;
    } else if (text[i + 1] === '\\') {
      bytes.push(0x5c);
      i += 2;
    } else {
      bytes.push(parseInt(text.slice(i + 1, i + 4), 8));
      i += 4;
    }
  }
  return Buffer.from(bytes);
}

/**
 * bytea arrives as Buffers, everything else as the text the server sent. The statements cast what they
 * return to text, so that a parser an application installed on pg's global types (bigint as BigInt, say)
 * never changes what this backend reads.
 */
export const RAW_TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number) => (oid === BYTEA ? parseBytea : (value: string) => value)) as unknown as pg.CustomTypesConfig['getTypeParser'],
};

/** A pool whose connections can be dropped by the server at any time without crashing the process. */
export async function createPool(config: pg.PoolConfig): Promise<pg.Pool> {
  const { Pool } = await loadPg();
  const pool = new Pool({ ...config, types: RAW_TYPES });
  pool.on('error', () => {
    // An idle connection was closed by the server (a restart, an idle timeout): the pool has dropped it
    // already, and the next checkout opens a new one. No operation was under way to report it to.
  });
  pool.on('connect', (client) => {
    client.on('error', () => {
      // A connection that fails while checked out also fails the query under way, or the next one: that
      // is where the error is reported. Without a listener, the event would crash the process.
    });
  });
  return pool;
}

/** The results of a simple-protocol string, one per statement. */
export function resultsOf(result: pg.QueryResult | pg.QueryResult[]): pg.QueryResult[] {
  return Array.isArray(result) ? result : [result];
}

/**
 * A connection checked out of a pool for several statements, such as a transaction. It goes back once:
 * healthy, or with the error that broke it, so that the pool discards it.
 */
export class HeldConnection {
  readonly #client: pg.PoolClient;
  #released = false;
  /** A connection the server closes while held (an idle timeout) goes back at once, not when its holder returns. */
  readonly #onError = (err: Error) => this.release(err);

  private constructor(client: pg.PoolClient) {
    this.#client = client;
    client.on('error', this.#onError);
  }

  static async take(pool: pg.Pool): Promise<HeldConnection> {
    return new HeldConnection(await pool.connect());
  }

  /** The server process of the connection, as `pg_stat_activity.pid` shows it. */
  get pid(): number | undefined {
    return (this.#client as unknown as { processID?: number }).processID ?? undefined;
  }

  get released(): boolean {
    return this.#released;
  }

  async query(config: string | pg.QueryConfig): Promise<pg.QueryResult[]> {
    if (this.#released) throw new Error('The connection was already given back to the pool');
    return resultsOf(await this.#client.query(config as pg.QueryConfig));
  }

  /** Gives the connection back; with an error, the pool closes it instead of reusing it. */
  release(err?: unknown): void {
    if (this.#released) return;
    this.#released = true;
    this.#client.removeListener('error', this.#onError);
    this.#client.release(err === undefined ? undefined : err instanceof Error ? err : new Error(String(err)));
  }

  /**
   * Ends the transaction with `statement` and gives the connection back, or drops it if that fails.
   *
   * @throws when the statement fails, or the connection was lost and given back already.
   */
  async finish(statement: 'COMMIT' | 'ROLLBACK'): Promise<void> {
    try {
      await this.query(statement);
    } catch (err) {
      this.release(err);
      throw err;
    }
    this.release();
  }
}

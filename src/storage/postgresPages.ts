import type pg from 'pg';
import { table } from './postgresSql.js';
import type { Entry, RangeOptions, SublevelName } from './StorageBackend.js';

/** Rows read per statement of an iteration: pages are read by key, each after the last key of the one before. */
export const PAGE_SIZE = 256;

interface Bound {
  key: Buffer;
  inclusive: boolean;
}

/** A range of one sublevel, its bounds reduced to at most one on each side. */
export interface KeyRange {
  sublevel: SublevelName;
  lower: Bound | undefined;
  upper: Bound | undefined;
  reverse: boolean;
  /** How many entries at most; undefined for all. */
  limit: number | undefined;
}

export function keyRange(sublevel: SublevelName, options: RangeOptions): KeyRange {
  const { limit } = options;
  return {
    sublevel,
    lower: tighter(bound(options.gt, false), bound(options.gte, true), 1),
    upper: tighter(bound(options.lt, false), bound(options.lte, true), -1),
    reverse: options.reverse === true,
    // LevelDB reads a negative or infinite limit as none.
    limit: limit === undefined || limit === null || limit < 0 || !Number.isFinite(limit) ? undefined : Math.floor(limit),
  };
}

function bound(key: Buffer | undefined, inclusive: boolean): Bound | undefined {
  if (key === undefined || key === null) return undefined;
  if (!(key instanceof Uint8Array)) throw new TypeError(`Expected a range bound to be a Buffer, got \`${typeof key}\``);
  return { key: Buffer.from(key.buffer, key.byteOffset, key.byteLength), inclusive };
}

/** Of two bounds on one side, the one that admits less; `direction` is 1 for a lower bound, -1 for an upper. */
function tighter(exclusive: Bound | undefined, inclusive: Bound | undefined, direction: 1 | -1): Bound | undefined {
  if (exclusive === undefined || inclusive === undefined) return exclusive ?? inclusive;
  return Buffer.compare(inclusive.key, exclusive.key) * direction > 0 ? inclusive : exclusive;
}

/**
 * The statement of one page, prepared once per shape of bounds: bytea compares bytewise, as LevelDB does,
 * and the primary key's index serves both directions.
 */
export function pageQuery(schema: string, range: KeyRange, size: number): pg.QueryConfig {
  const values: unknown[] = [range.sublevel];
  const where = ['sublevel = $1'];
  let shape = '';
  if (range.lower !== undefined) {
    values.push(range.lower.key);
    where.push(`key ${range.lower.inclusive ? '>=' : '>'} $${values.length}`);
    shape += range.lower.inclusive ? '_ge' : '_gt';
  }
  if (range.upper !== undefined) {
    values.push(range.upper.key);
    where.push(`key ${range.upper.inclusive ? '<=' : '<'} $${values.length}`);
    shape += range.upper.inclusive ? '_le' : '_lt';
  }
  values.push(size);
  const order = range.reverse ? 'DESC' : 'ASC';
  return {
    name: `llmstate_page${shape}_${order.toLowerCase()}`,
    text: `SELECT key, value FROM ${table(schema, 'records')} WHERE ${where.join(' AND ')} ORDER BY key ${order} LIMIT $${values.length}`,
    values,
  };
}

/** The rest of `range` after a page that ended at `last` and held `taken` entries. */
function after(range: KeyRange, last: Buffer, taken: number): KeyRange {
  const past: Bound = { key: last, inclusive: false };
  return {
    ...range,
    ...(range.reverse ? { upper: past } : { lower: past }),
    limit: range.limit === undefined ? undefined : range.limit - taken,
  };
}

/** Reads `range` page by page through `run`, which the caller points at one snapshot. */
export async function* readPages(run: (query: pg.QueryConfig) => Promise<pg.QueryResult>, schema: string, range: KeyRange): AsyncGenerator<Entry> {
  for (let rest = range; rest.limit !== 0; ) {
    const size = Math.min(rest.limit ?? PAGE_SIZE, PAGE_SIZE);
    const { rows } = await run(pageQuery(schema, rest, size));
    for (const row of rows) yield [row.key, row.value];
    if (rows.length < size) return;
    rest = after(rest, rows[rows.length - 1].key, rows.length);
  }
}

import { announcement } from './postgresAnnouncements.js';
import { SUBLEVELS, type BatchOp, type LeaseHold, type SublevelName } from './StorageBackend.js';

/**
 * The statements of the write path, sent as text over the simple protocol so that a batch costs two round
 * trips. The only text that varies in them is hex digits, integers made here, sublevel names from
 * SUBLEVELS, and the schema name, which the options check; nothing a caller passes reaches the SQL as text.
 */

const SUBLEVEL_NAMES: ReadonlySet<string> = new Set(SUBLEVELS);

/** A schema-qualified table. */
export function table(schema: string, name: string): string {
  return `"${schema}".${name}`;
}

/**
 * Bytes as a hex bytea literal. The E-string reads the same whatever `standard_conforming_strings` is,
 * where a plain `'\x…'` would be read as an escape when it is off.
 */
export function byteaLiteral(bytes: Buffer): string {
  return `E'\\\\x${bytes.toString('hex')}'::bytea`;
}

/** Text as UTF-8 bytes decoded by the server, so that a resource or owner name never becomes SQL. */
export function textLiteral(text: string): string {
  return `convert_from(${byteaLiteral(Buffer.from(text, 'utf8'))}, 'UTF8')`;
}

export function integerLiteral(value: number): string {
  if (!Number.isSafeInteger(value)) throw new TypeError(`Expected a safe integer, got \`${String(value)}\``);
  return String(value);
}

function sublevelLiteral(sublevel: SublevelName): string {
  if (!SUBLEVEL_NAMES.has(sublevel)) throw new TypeError(`Expected a sublevel of SUBLEVELS, got \`${String(sublevel)}\``);
  return `'${sublevel}'`;
}

function checkedBytes(value: unknown, what: string): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  throw new TypeError(`Expected the ${what} of a batch operation to be a Buffer, got \`${value === null ? 'null' : typeof value}\``);
}

/** The last operation on each key, in the order of the batch: within a batch the last op on a key wins. */
export function lastOpPerKey(ops: readonly BatchOp[]): BatchOp[] {
  const last = new Map<string, BatchOp>();
  for (const op of ops) {
    const key = checkedBytes(op.key, 'key');
    if (op.type === 'put') checkedBytes(op.value, 'value');
    else if (op.type !== 'del') throw new TypeError(`Expected a batch operation of type put or del, got \`${String((op as { type: unknown }).type)}\``);
    sublevelLiteral(op.sublevel);
    const id = `${op.sublevel}\0${key.toString('hex')}`;
    // Deleting and re-adding moves the key to the end, so the map's order stays the order of last writes.
    last.delete(id);
    last.set(id, op);
  }
  return [...last.values()];
}

/**
 * The writes of a batch as at most two statements: one multi-row upsert and one delete. The operations are
 * deduplicated first, so no statement touches a row twice.
 */
export function writeStatements(schema: string, ops: readonly BatchOp[]): string[] {
  const records = table(schema, 'records');
  const puts: string[] = [];
  const dels: string[] = [];
  // In key order, so that two batches over the same keys lock their rows in the same order and never deadlock.
  const ordered = lastOpPerKey(ops).sort((a, b) => (a.sublevel === b.sublevel ? Buffer.compare(a.key, b.key) : a.sublevel < b.sublevel ? -1 : 1));
  for (const op of ordered) {
    const where = `${sublevelLiteral(op.sublevel)}, ${byteaLiteral(checkedBytes(op.key, 'key'))}`;
    if (op.type === 'put') puts.push(`(${where}, ${byteaLiteral(checkedBytes(op.value, 'value'))})`);
    else dels.push(`(${where})`);
  }
  const statements: string[] = [];
  if (puts.length > 0) {
    statements.push(
      `INSERT INTO ${records} (sublevel, key, value) VALUES ${puts.join(', ')} ON CONFLICT (sublevel, key) DO UPDATE SET value = excluded.value`,
    );
  }
  if (dels.length > 0) statements.push(`DELETE FROM ${records} WHERE (sublevel, key) IN (${dels.join(', ')})`);
  return statements;
}

/** Makes a commit that asked for `sync` durable even on a server set to `synchronous_commit = off`. */
export const SYNC_COMMIT = `SELECT set_config('synchronous_commit', 'on', true) WHERE current_setting('synchronous_commit') = 'off'`;

/**
 * The second round trip of a batch: its writes and COMMIT, in one string, with the announcement of a change
 * to a watched namespace (made as the store `announcedAs`). A statement that fails stops the string there,
 * so COMMIT never runs after a failed write.
 */
export function writeAndCommit(schema: string, ops: readonly BatchOp[], sync: boolean, announcedAs: string): string {
  const writes = writeStatements(schema, ops);
  const announce = announcement(schema, announcedAs, ops);
  return [...writes, ...(announce === undefined ? [] : [announce]), ...(sync ? [SYNC_COMMIT] : []), 'COMMIT'].join('; ');
}

/** The first round trip of a batch: the transaction and its id, to learn its outcome if the connection is lost. */
/** The first round trip of a plain batch: the transaction's id, after its fence when it has one. */
export function beginBatch(schema: string, fence: readonly LeaseHold[]): string {
  return ['BEGIN', ...(fence.length > 0 ? [fenceCheck(schema, fence)] : []), 'SELECT pg_current_xact_id()::text AS xid'].join('; ');
}

/**
 * Locks the fenced leases in a fixed order, so that a process taking one over waits for this batch, and
 * this batch sees the new epoch of a takeover that committed first. For a plain batch, which takes no
 * sequence.
 */
export function fenceCheck(schema: string, fence: readonly LeaseHold[]): string {
  return `${fenceRead(schema, fence)} ORDER BY resource FOR SHARE`;
}

/** The fenced leases as they are now. */
function fenceRead(schema: string, fence: readonly LeaseHold[]): string {
  const resources = [...new Set(fence.map((hold) => hold.resource))].map(textLiteral);
  return `SELECT resource, owner, epoch::text AS epoch FROM ${table(schema, 'leases')} WHERE resource IN (${resources.join(', ')})`;
}

/**
 * The first round trip of a sequenced commit: its number, then its leases. The row lock on
 * commit_sequence, held to COMMIT, orders the commits of every process, so that sequence order is commit
 * order. Every change of a lease's owner or epoch takes that row first (acquireLease), so the leases,
 * read after it in a statement of their own (READ COMMITTED: a new snapshot), are as they will stay until
 * COMMIT, with no lock on their rows.
 */
export function beginSequencedCommit(schema: string, previous: number, fence: readonly LeaseHold[]): string {
  const next = `UPDATE ${table(schema, 'commit_sequence')} SET seq = GREATEST(seq, ${integerLiteral(previous)}) + 1 RETURNING seq::text AS seq, pg_current_xact_id()::text AS xid`;
  return ['BEGIN ISOLATION LEVEL READ COMMITTED', next, ...(fence.length > 0 ? [fenceRead(schema, fence)] : [])].join('; ');
}

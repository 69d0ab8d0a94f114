import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { createRuntime, LlmStateError, type Runtime, type RuntimeOptions } from '../src/index.js';
import type { RestoreBackupResult } from '../src/backup/Backups.js';
import type { Compression } from '../src/backup/file/index.js';
import { backedUpSublevels } from '../src/backup/coverage.js';
import { decodeSeqKey, readLastSeq } from '../src/events/eventLog.js';
import { readSeqHighWater } from '../src/events/seqHighWater.js';
import { storageOf } from '../src/runtime.js';
import { decodeStateKey, encodeStateKey } from '../src/state/keyCodec.js';
import { decodeRecord } from '../src/storage/recordEnvelope.js';
import { runs } from './budget.js';
import { key, KEYS, scopeIndex, SCOPES, value } from './stateModel.js';

/** The key of every encrypted backup; restores and verifies always pass it, and plain files ignore it. */
const KEY = Buffer.alloc(32, 0x2f);

/** scope string → key → value. Never mutated once recorded in a history. */
type State = ReadonlyMap<string, ReadonlyMap<string, unknown>>;

/** One commit (or run of commits) of a store's history: the state as of `seq`. */
interface Entry {
  seq: number;
  state: State;
  /**
   * The commit of a full or point-in-time restore: the backup it put back and the sequence its state is
   * as of. The history between that sequence and this commit was replaced.
   */
  replaced?: { id: string; seq: number };
  /** The state's records as stored (envelopes with their sequence and time), raw. */
  rawState: string[];
}

interface ModelBackup {
  id: string;
  parentId: string | null;
  pinned: boolean;
  seq: number;
  createdAt: number;
  /** Encrypted (with the one key the model uses), or plain: an increment is encrypted as its parent is. */
  encrypted: boolean;
  /** The history of the store it was taken of, up to its seq: the entries are shared with that store's. */
  history: Entry[];
  /** The highest sequence event retention had removed from that store's log. */
  removedUpTo: number;
  /** Every record of every namespace it holds, raw, as the store had them when it was taken. */
  raw: string[];
  state: State;
}

type TxOp = { op: 'set'; key: string; value: unknown } | { op: 'delete'; key: string };

type Command =
  | { kind: 'set'; scope: number; key: string; value: unknown }
  | { kind: 'delete'; scope: number; key: string }
  | { kind: 'clear'; scope: number }
  | { kind: 'transaction'; scope: number; ops: TxOp[]; fails: boolean }
  | { kind: 'backup'; incremental: boolean; compression: Compression; encrypt: boolean }
  | { kind: 'restoreBackup'; pick: number; fromFile: boolean; scopes: number[] | undefined; dryRun: boolean }
  | { kind: 'restoreAt'; pick: number; base: number | undefined; scopes: number[] | undefined; dryRun: boolean }
  | { kind: 'pruneEvents'; keep: number }
  | { kind: 'pruneBackups'; keepLast: number; pin: number | undefined }
  | { kind: 'reopen' };

/** An index into the history: negative counts from its end (recent sequences, which backups precede), else any. */
const recentOrAny = fc.oneof(fc.integer({ min: -6, max: -1 }), fc.nat());
/** True about one time in four. */
const sometimes = fc.nat({ max: 3 }).map((n) => n === 0);
const scopesOption = fc.option(fc.uniqueArray(scopeIndex, { minLength: 1, maxLength: 3 }), { nil: undefined, freq: 3 });
const txOp: fc.Arbitrary<TxOp> = fc.oneof(fc.record({ op: fc.constant('set' as const), key, value }), fc.record({ op: fc.constant('delete' as const), key }));

function commandArbitrary(reopen: boolean): fc.Arbitrary<Command> {
  const choices: fc.WeightedArbitrary<Command>[] = [
    { weight: 6, arbitrary: fc.record({ kind: fc.constant('set' as const), scope: scopeIndex, key, value }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), scope: scopeIndex, key }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('clear' as const), scope: scopeIndex }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('transaction' as const), scope: scopeIndex, ops: fc.array(txOp, { maxLength: 4 }), fails: sometimes }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('backup' as const), incremental: fc.boolean(), compression: fc.constantFrom<Compression>('brotli', 'gzip', 'none'), encrypt: sometimes }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('restoreBackup' as const), pick: fc.nat(), fromFile: sometimes, scopes: scopesOption, dryRun: sometimes }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('restoreAt' as const), pick: recentOrAny, base: fc.option(fc.nat(), { nil: undefined }), scopes: scopesOption, dryRun: sometimes }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('pruneEvents' as const), keep: fc.nat({ max: 6 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('pruneBackups' as const), keepLast: fc.nat({ max: 3 }), pin: fc.option(fc.nat(), { nil: undefined }) }) },
  ];
  if (reopen) choices.push({ weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) });
  return fc.oneof(...choices);
}

function withScope(state: State, scope: number, change: (values: Map<string, unknown>) => void): State {
  const name = SCOPES[scope].toString();
  const values = new Map(state.get(name) ?? []);
  change(values);
  const next = new Map(state);
  if (values.size === 0) next.delete(name);
  else next.set(name, values);
  return next;
}

/** `state` with the given scopes as they are in `source`. */
function replaceScopes(state: State, source: State, scopes: readonly number[]): State {
  const next = new Map(state);
  for (const scope of scopes) {
    const name = SCOPES[scope].toString();
    const values = source.get(name);
    if (values === undefined) next.delete(name);
    else next.set(name, values);
  }
  return next;
}

/** How often each outcome happened over all runs, so that a property that tests nothing shows. */
const seen = new Map<string, number>();
function tally(outcome: string): void {
  seen.set(outcome, (seen.get(outcome) ?? 0) + 1);
}

/** The store under test, and its model. */
class Harness {
  rt!: Runtime;
  history: Entry[] = [];
  backups: ModelBackup[] = [];
  /** The highest sequence seen so far: no later commit may be at or below it. */
  highest = 0;
  probe = 0;
  /** The highest sequence event retention removed from the store's log (its `seqHighWater` mark). */
  removedUpTo = 0;

  constructor(
    readonly options: RuntimeOptions,
    readonly log: string[],
  ) {}

  async open(): Promise<void> {
    this.rt = await createRuntime(this.options);
  }

  get state(): State {
    return this.history[this.history.length - 1].state;
  }

  async lastSeq(): Promise<number> {
    return readLastSeq(storageOf(this.rt));
  }

  /** Records what the store holds as of its last commit, and checks that its sequence did not go back. */
  async commit(state: State, replaced?: { id: string; seq: number }): Promise<void> {
    const seq = await this.lastSeq();
    assert.ok(seq >= this.highest, `the last commit ${seq} is below an earlier one (${this.highest})`);
    this.highest = seq;
    const last = this.history[this.history.length - 1];
    if (last !== undefined && last.seq === seq) {
      assert.deepEqual(state, last.state, `the state changed at sequence ${seq} without a commit`);
      return;
    }
    this.history.push({ seq, state, ...(replaced === undefined ? {} : { replaced }), rawState: await this.rawRecords(['state']) });
  }

  async run(command: Command): Promise<void> {
    switch (command.kind) {
      case 'set':
        return this.set(command.scope, command.key, command.value);
      case 'delete': {
        const existed = await this.rt.state.delete(SCOPES[command.scope], command.key);
        assert.equal(existed, this.state.get(SCOPES[command.scope].toString())?.has(command.key) ?? false);
        return this.commit(withScope(this.state, command.scope, (values) => values.delete(command.key)));
      }
      case 'clear': {
        const removed = await this.rt.state.clearScope(SCOPES[command.scope]);
        assert.equal(removed, this.state.get(SCOPES[command.scope].toString())?.size ?? 0);
        return this.commit(withScope(this.state, command.scope, (values) => values.clear()));
      }
      case 'transaction':
        return this.transaction(command.scope, command.ops, command.fails);
      case 'backup':
        return this.backup(command.incremental, command.compression, command.encrypt);
      case 'restoreBackup':
        return this.restoreBackup(command.pick, command.fromFile, command.scopes, command.dryRun);
      case 'restoreAt':
        return this.restoreAt(command.pick, command.base, command.scopes, command.dryRun);
      case 'pruneEvents':
        return this.pruneEvents(command.keep);
      case 'pruneBackups':
        return this.pruneBackups(command.keepLast, command.pin);
      case 'reopen':
        await this.rt.close();
        await this.open();
        return this.commit(this.state);
    }
  }

  async pruneEvents(keep: number): Promise<void> {
    const records = (await this.rt.events.query({ limit: 100_000 })).map((event) => event.seq);
    const seqs = [...new Set(records)];
    const result = await this.rt.events.prune({ maxCount: keep });
    const removed = seqs.slice(0, Math.max(0, seqs.length - keep));
    assert.equal(result.removedRecords, removed.length);
    assert.equal(result.oldestSeq, seqs[removed.length]);
    if (removed.length > 0) this.removedUpTo = Math.max(this.removedUpTo, removed.at(-1)!);
    assert.equal(await readSeqHighWater(storageOf(this.rt)), this.removedUpTo);
    return this.commit(this.state);
  }

  /** Keeps the `keepLast` newest backups (by creation), the pinned one, and every backup they build on. */
  async pruneBackups(keepLast: number, pin: number | undefined): Promise<void> {
    if (pin !== undefined && this.backups.length > 0) {
      const pinned = this.backups[pin % this.backups.length];
      await this.rt.backups.pin(pinned.id);
      pinned.pinned = true;
    }
    const newestFirst = [...this.backups].sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1));
    const kept = new Set<string>();
    for (const backup of [...newestFirst.slice(0, keepLast), ...this.backups.filter((candidate) => candidate.pinned)]) {
      for (const id of this.chainOf(backup.id)) kept.add(id);
    }
    const result = await this.rt.backups.prune({ keepLast });
    assert.deepEqual(result.deleted.map(({ id }) => id).sort(), this.backups.filter(({ id }) => !kept.has(id)).map(({ id }) => id).sort());
    this.backups = this.backups.filter(({ id }) => kept.has(id));
    assert.deepEqual((await this.rt.backups.list()).map(({ id }) => id), this.backups.map(({ id }) => id));
    tally('prune of backups');
    return this.commit(this.state);
  }

  async set(scope: number, key: string, value: unknown): Promise<void> {
    await this.rt.state.set(SCOPES[scope], key, value);
    const stored = await storageOf(this.rt).get('state', encodeStateKey(SCOPES[scope], key));
    const { seq } = decodeRecord(stored!, { record: 'state value' });
    assert.ok(seq > this.highest, `the write to ${SCOPES[scope]}/${key} got sequence ${seq}, not above the earlier ${this.highest}`);
    await this.commit(withScope(this.state, scope, (values) => values.set(key, value)));
  }

  async transaction(scope: number, ops: TxOp[], fails: boolean): Promise<void> {
    const outcome = this.rt.state.transaction(SCOPES[scope], (tx) => {
      for (const op of ops) {
        if (op.op === 'set') tx.set(op.key, op.value);
        else tx.delete(op.key);
      }
      if (fails) throw new Error('rolled back');
    });
    if (fails) {
      await assert.rejects(outcome, /rolled back/);
      return this.commit(this.state);
    }
    await outcome;
    return this.commit(
      withScope(this.state, scope, (values) => {
        for (const op of ops) {
          if (op.op === 'set') values.set(op.key, op.value);
          else values.delete(op.key);
        }
      }),
    );
  }

  async backup(incremental: boolean, compression: Compression, encrypt: boolean): Promise<void> {
    const parent = this.newestBackup();
    const fullRequired =
      incremental && (parent === undefined || !this.canBringForward(parent, this.highest) || this.removedUpTo > parent.seq || parent.encrypted !== encrypt);
    if (fullRequired) {
      await assert.rejects(this.rt.backups.create({ incremental, compression, ...(encrypt ? { key: KEY } : {}) }), (error: LlmStateError) => error.code === 'BACKUP_FULL_REQUIRED');
      tally('increment refused');
      return this.commit(this.state);
    }
    const seqBefore = this.highest;
    const raw = await this.rawRecords();
    const created = await this.rt.backups.create({ incremental, compression, ...(encrypt ? { key: KEY } : {}) });
    assert.equal(created.seq, seqBefore, 'a backup holds exactly the commits up to the last one');
    assert.equal(created.kind, incremental ? 'incremental' : 'full');
    assert.equal(created.parentId, incremental ? parent!.id : null);
    assert.equal(created.encrypted, encrypt);
    assert.equal(created.compression, compression);
    this.addBackup(created, raw);
    const verified = await this.rt.backups.verify(created.id, { key: KEY });
    assert.deepEqual(verified.chain.map(({ id }) => id), this.chainOf(created.id));
    tally(incremental ? 'incremental backup' : 'full backup');
    await this.commit(this.state);
  }

  addBackup(descriptor: { id: string; seq: number; createdAt: number; parentId: string | null; encrypted: boolean }, raw: string[]): void {
    const history = this.history.filter((entry) => entry.seq <= descriptor.seq);
    this.backups.push({ id: descriptor.id, parentId: descriptor.parentId, pinned: false, seq: descriptor.seq, createdAt: descriptor.createdAt, encrypted: descriptor.encrypted, history, state: history[history.length - 1].state, removedUpTo: this.removedUpTo, raw });
    this.backups.sort((a, b) => a.seq - b.seq || a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
  }

  /** The ids of the backups a restore of `id` reads, full backup first. */
  chainOf(id: string): string[] {
    const backup = this.backups.find((candidate) => candidate.id === id)!;
    return backup.parentId === null ? [id] : [...this.chainOf(backup.parentId), id];
  }

  /** The newest backup at or before `at`, leaving out those taken in a history a restore replaced. */
  newestBackup(at = Infinity): ModelBackup | undefined {
    const replacedRanges = this.history.filter((entry) => entry.replaced !== undefined).map((entry) => ({ from: entry.replaced!.seq + 1, to: entry.seq - 1 }));
    return this.backups.filter((backup) => backup.seq <= at && !replacedRanges.some((range) => backup.seq >= range.from && backup.seq <= range.to)).at(-1);
  }

  /**
   * Whether the current store's log leads from `backup` to `seq`: the backup's history is this store's,
   * and every restore that replaced the store's history in between put back that very backup, right
   * after it (the history then goes on from the backup's state).
   */
  canBringForward(backup: ModelBackup, seq: number): boolean {
    const sameHistory = backup.history.every((entry, index) => this.history[index] === entry);
    const firstAfter = this.history.find((entry) => entry.seq > backup.seq);
    const replacedOtherwise = this.history.some(
      (entry) =>
        entry.replaced !== undefined &&
        entry.seq > backup.seq &&
        entry.seq <= seq &&
        !(entry === firstAfter && entry.replaced.id === backup.id && entry.replaced.seq === backup.seq),
    );
    return sameHistory && !replacedOtherwise;
  }

  /** The state at `seq` in the current store's history. */
  stateAt(seq: number): State {
    return this.history.filter((entry) => entry.seq <= seq).at(-1)!.state;
  }

  async restoreBackup(pick: number, fromFile: boolean, scopes: number[] | undefined, dryRun: boolean): Promise<void> {
    if (this.backups.length === 0) return;
    const backup = this.backups[pick % this.backups.length];
    const which = fromFile ? { from: (await this.rt.backups.get(backup.id)).file } : { id: backup.id };
    const raw = await this.rawRecords();
    const result = await this.rt.backups.restore({ ...which, key: KEY, dryRun, ...(scopes === undefined ? {} : { scopes: scopes.map((s) => SCOPES[s]) }) });
    assert.equal(result.id, backup.id);
    assert.equal(result.restoredSeq, backup.seq);
    await this.afterRestore(result, { state: backup.state, history: backup.history, removedUpTo: backup.removedUpTo, raw: backup.raw }, raw, scopes, dryRun);
  }

  /** To a sequence of the store's history: from the newest backup at or before it, or from a backup given by id. */
  async restoreAt(pick: number, basePick: number | undefined, scopes: number[] | undefined, dryRun: boolean): Promise<void> {
    const target = this.history[pick < 0 ? Math.max(0, this.history.length + pick) : pick % this.history.length].seq;
    const given = basePick === undefined || this.backups.length === 0 ? undefined : this.backups[basePick % this.backups.length];
    const base = given ?? this.newestBackup(target);
    const raw = await this.rawRecords();
    const outcome = this.rt.backups.restore({
      at: target,
      key: KEY,
      dryRun,
      ...(given === undefined ? {} : { id: given.id }),
      ...(scopes === undefined ? {} : { scopes: scopes.map((s) => SCOPES[s]) }),
    });
    if (given !== undefined && given.seq > target) {
      await assert.rejects(outcome, (error: LlmStateError) => error.code === 'RESTORE_FAILED' && error.message.includes('only forward'));
      tally('point in time before the given backup');
      return this.commit(this.state);
    }
    if (base === undefined) {
      await assert.rejects(outcome, (error: LlmStateError) => error.code === 'BACKUP_NOT_FOUND');
      tally('point in time without a backup');
      return this.commit(this.state);
    }
    if (!this.canBringForward(base, target)) {
      await assert.rejects(outcome, (error: LlmStateError) => error.code === 'RESTORE_FAILED');
      tally('point in time across a replaced history');
      return this.commit(this.state);
    }
    if (target > base.seq && this.removedUpTo > base.seq) {
      await assert.rejects(outcome, (error: LlmStateError) => error.code === 'RESTORE_FAILED' && error.message.includes('retention'));
      tally('point in time past retention');
      return this.commit(this.state);
    }
    const result = await outcome;
    assert.equal(result.id, base.id);
    assert.equal(result.restoredSeq, target);
    this.log.push(`  → from ${base.id} (seq ${base.seq}) replayed ${result.replayedCommits} commits to ${target}`);
    const entry = this.history.find((candidate) => candidate.seq === target)!;
    const restored = {
      state: entry.state,
      rawState: entry.rawState,
      history: this.history.filter((entry) => entry.seq <= target),
      removedUpTo: base.removedUpTo,
      // Brought forward from the log, the namespaces other than the state are the backup's, and the log longer.
      raw: target === base.seq ? base.raw : undefined,
    };
    await this.afterRestore(result, restored, raw, scopes, dryRun);
  }

  /** Checks a restore's outcome against what it restored, and `raw`, the store's records just before. */
  async afterRestore(
    result: RestoreBackupResult,
    restored: { state: State; history: Entry[]; removedUpTo: number; raw: string[] | undefined; rawState?: string[] },
    raw: string[],
    scopes: number[] | undefined,
    dryRun: boolean,
  ): Promise<void> {
    const expected = scopes === undefined ? restored.state : replaceScopes(this.state, restored.state, scopes);
    tally(`restore ${result.mode}${dryRun ? ' (dry run)' : ''}${result.replayedCommits > 0 ? ' with replay' : ''}`);
    if (dryRun) {
      assert.equal(result.seq, undefined);
      assert.equal(result.safetyBackupId, undefined);
      assert.deepEqual(normalizeChanges(result.changes!), expectedChanges(this.state, expected));
      assert.equal(await this.lastSeq(), this.highest, 'a dry run commits nothing');
      return this.commit(this.state);
    }
    assert.ok(result.seq! > this.highest, `the restore committed at ${result.seq}, not above the earlier ${this.highest}`);
    if (scopes !== undefined) assert.deepEqual(normalizeChanges(result.changes!), expectedChanges(this.state, expected));
    const safety = await this.rt.backups.get(result.safetyBackupId!);
    assert.equal(safety.seq, this.highest, 'the safety backup holds the store as it was just before');
    this.addBackup(safety, raw);
    if (scopes === undefined) {
      this.history = restored.history.slice();
      // The restored store's log is the backup's, with what retention had removed from it then.
      this.removedUpTo = restored.removedUpTo;
      if (restored.raw !== undefined) {
        const records = (await this.rawRecords()).filter((record) => seqOfRecord(record) < result.seq!);
        assert.deepEqual(records, restored.raw, 'every namespace is as it was when the backup was taken, byte for byte');
        tally('restore checked byte for byte');
      } else {
        assert.deepEqual(await this.rawRecords(['state']), restored.rawState, 'every value is stored as its commit stored it, byte for byte');
        tally('point in time checked byte for byte');
      }
    }
    await this.commit(expected, scopes === undefined ? { id: result.id, seq: result.restoredSeq } : undefined);
    // Writes go on after a restore.
    await this.set(0, 'probe', ++this.probe);
  }

  async rawRecords(sublevels = backedUpSublevels()): Promise<string[]> {
    const records: string[] = [];
    for (const sublevel of sublevels) {
      for await (const [key, value] of storageOf(this.rt).iterate(sublevel)) records.push(`${sublevel} ${key.toString('hex')} ${value.toString('hex')}`);
    }
    return records;
  }

  /** The whole state, read through rt.state and as raw keys, equals the model's. */
  async check(): Promise<void> {
    const state = this.state;
    for (let scope = 0; scope < SCOPES.length; scope++) {
      const values = state.get(SCOPES[scope].toString()) ?? new Map();
      const keys = [...values.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      assert.deepEqual(await this.rt.state.listKeys(SCOPES[scope]), keys, `the keys of ${SCOPES[scope]}`);
      for (const k of [...KEYS, 'probe']) assert.deepStrictEqual(await this.rt.state.get(SCOPES[scope], k), values.get(k), `${SCOPES[scope]}/${k}`);
    }
    assert.equal(await readSeqHighWater(storageOf(this.rt)), this.removedUpTo, 'what retention removed from the log');
    const stored: string[] = [];
    for await (const [raw] of storageOf(this.rt).iterate('state')) {
      const decoded = decodeStateKey(raw)!;
      stored.push(`${decoded.scope}/${decoded.key}`);
    }
    const modelled = [...state].flatMap(([scope, values]) => [...values.keys()].map((k) => `${scope}/${k}`));
    assert.deepEqual(stored.sort(), modelled.sort(), 'every stored key, of every scope');
  }
}

/** The commit a record of the log or its indexes belongs to (their keys end in it); 0 for other records. */
function seqOfRecord(record: string): number {
  const [sublevel, keyHex] = record.split(' ');
  if (sublevel !== 'events' && sublevel !== 'eventsByCorrelation' && sublevel !== 'eventsByAgent') return 0;
  return decodeSeqKey(Buffer.from(keyHex, 'hex').subarray(-8));
}

function expectedChanges(current: State, restored: State): Array<{ scope: string; added: string[]; changed: string[]; removed: string[] }> {
  const scopes = new Set([...current.keys(), ...restored.keys()]);
  const changes = [];
  for (const scope of scopes) {
    const before = current.get(scope) ?? new Map();
    const after = restored.get(scope) ?? new Map();
    const added = [...after.keys()].filter((k) => !before.has(k));
    const removed = [...before.keys()].filter((k) => !after.has(k));
    const changed = [...after.keys()].filter((k) => before.has(k) && JSON.stringify(before.get(k)) !== JSON.stringify(after.get(k)));
    if (added.length + removed.length + changed.length > 0) changes.push({ scope, added: added.sort(), changed: changed.sort(), removed: removed.sort() });
  }
  return changes.sort((a, b) => (a.scope < b.scope ? -1 : 1));
}

/** A report's changes as full key lists: with at most a few keys per scope, the samples are every key. */
function normalizeChanges(changes: NonNullable<RestoreBackupResult['changes']>) {
  return changes
    .map(({ scope, added, changed, removed, samples }) => {
      assert.equal(samples.added.length, added);
      assert.equal(samples.changed.length, changed);
      assert.equal(samples.removed.length, removed);
      return { scope, added: [...samples.added].sort(), changed: [...samples.changed].sort(), removed: [...samples.removed].sort() };
    })
    .sort((a, b) => (a.scope < b.scope ? -1 : 1));
}

const VARIANTS = [
  { name: 'a memory runtime', disk: false, runs: 60 },
  { name: 'a disk runtime, closed and reopened', disk: true, runs: 20 },
];

describe('backups against a model (fast-check)', function () {
  this.timeout(600_000);
  after(() => console.log('      outcomes:', Object.fromEntries([...seen].sort())));

  for (const variant of VARIANTS) {
    it(`after writes, backups and restores to any backup, sequence or scopes, the store always equals the model of the state at that point, and sequences never go back (${variant.name})`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(commandArbitrary(variant.disk), { minLength: 8, maxLength: 30, size: 'max' }), async (commands) => {
          const dir = mkdtempSync(join(tmpdir(), 'backup-props-model-'));
          const options: RuntimeOptions = variant.disk
            ? { dataDir: join(dir, 'data'), backups: { dir: join(dir, 'backups') } }
            : { memory: true, backups: { dir: join(dir, 'backups') } };
          const log: string[] = [];
          const harness = new Harness(options, log);
          await harness.open();
          try {
            await harness.commit(new Map());
            for (const command of commands) {
              log.push(JSON.stringify(command));
              await harness.run(command);
              await harness.check();
            }
            if (!variant.disk) return;
            await harness.run({ kind: 'reopen' });
            await harness.check();
          } catch (error) {
            (error as Error).message += `\nsteps:\n${log.join('\n')}`;
            throw error;
          } finally {
            await harness.rt.close();
            rmSync(dir, { recursive: true, force: true });
          }
        }),
        { numRuns: runs(variant.runs) },
      );
    });
  }
});

import { z } from 'zod';
import { checkOptions, describeOption } from '../checkOptions.js';

/**
 * Which backups `rt.backups.prune(policy)` keeps (DESIGN §11). The rules apply in this order:
 *
 * 1. **Select.** With no keep rule (`keepLast`, `keepDaily`, `keepWeekly`, `keepMonthly`), every backup
 *    is selected. Otherwise a backup is selected when any keep rule selects it; a rule of 0 selects none.
 * 2. **maxAge** deselects every backup created before `now - maxAge`, whatever rule selected it.
 * 3. **Pinned** backups are always kept.
 * 4. **Chains.** Every ancestor (by `parentId`, transitively) of a kept backup is kept, so a kept
 *    incremental can always be restored. A parent missing from the list is fine.
 * 5. **maxTotalBytes.** While the kept total is above it, the oldest kept backup that is neither pinned
 *    nor the parent of a kept backup is deleted. Deleting an incremental can free its parent: a parent
 *    that a rule selected becomes deletable in turn, and one kept only for the deleted incremental goes
 *    with it. When pins and chains forbid getting under, the excess is `overBudgetBytes`.
 *
 * Periods are UTC: days, ISO weeks (`2026-W53` runs from Monday 28 December 2026 to Sunday 3 January
 * 2027) and calendar months. A period rule counts only periods that have backups, newest first, and in
 * each keeps its newest backup. Of two backups made in the same ms, the greater id is the newer.
 *
 * An empty policy keeps everything.
 */
export interface RetentionPolicy {
  /** Keep the N newest backups. */
  keepLast?: number;
  /** Keep the newest backup of each of the N most recent UTC days that have backups. */
  keepDaily?: number;
  /** Keep the newest backup of each of the N most recent ISO weeks (UTC) that have backups. */
  keepWeekly?: number;
  /** Keep the newest backup of each of the N most recent calendar months (UTC) that have backups. */
  keepMonthly?: number;
  /** In ms: a backup created before `now - maxAge` goes, whatever keep rule selected it (unless pinned or a kept backup's ancestor). */
  maxAge?: number;
  /** After the rules above, delete the oldest deletable backups until the kept total is at most this many bytes. */
  maxTotalBytes?: number;
}

/** What retention needs to know of a backup; a backup descriptor has these fields and more. */
export interface RetentionCandidate {
  id: string;
  /** The backup an incremental builds on; null for a full backup. */
  parentId: string | null;
  /** In ms since the epoch. */
  createdAt: number;
  bytes: number;
  pinned: boolean;
}

export interface RetentionDecision {
  id: string;
  keep: boolean;
  /**
   * Why, in words, in the order the rules applied, so the last reason is the one that decided:
   * `'keepLast (2 of 5)'`, `'daily 2026-12-01'`, `'weekly 2026-W48'`, `'monthly 2026-12'`,
   * `'no keep rule given'`, `'not selected by any keep rule'`, `'older than maxAge (…)'`, `'pinned'`,
   * `'parent of b-123 which is kept'`, `'over maxTotalBytes (…)'`. Never empty.
   */
  reasons: string[];
}

export interface RetentionPlan {
  /** One per backup, oldest first (by `createdAt`, then `id`). */
  decisions: RetentionDecision[];
  keptBytes: number;
  deletedBytes: number;
  /** How far the kept total is still above `maxTotalBytes`, because pins and chains forbid more deletes; 0 otherwise. */
  overBudgetBytes: number;
}

const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const FIELDS = {
  keepLast: [count, 'a non-negative integer'],
  keepDaily: [count, 'a non-negative integer'],
  keepWeekly: [count, 'a non-negative integer'],
  keepMonthly: [count, 'a non-negative integer'],
  maxAge: [z.number().int().positive().max(Number.MAX_SAFE_INTEGER), 'a positive integer (ms)'],
  maxTotalBytes: [count, 'a non-negative integer (bytes)'],
} as const satisfies Record<keyof RetentionPolicy, readonly [z.ZodType, string]>;

const POLICY_FIELDS = Object.keys(FIELDS) as (keyof RetentionPolicy)[];

/**
 * Checks a retention policy: an object of known fields, counts non-negative integers, `maxAge` a
 * positive integer. An empty policy is valid, and keeps everything.
 *
 * @param path Where the policy sits inside other options, such as `'backups.retention'`, for the messages.
 * @returns A copy holding only the fields given.
 * @throws {TypeError} reading like ``Expected `keepLast` to be a non-negative integer, got `-1` (number)``.
 * @example
 * ```ts
 * const retention = checkRetentionPolicy(options.backups.retention, 'backups.retention');
 * ```
 */
export function checkRetentionPolicy(policy: unknown, path?: string): RetentionPolicy {
  const checked = checkOptions(
    policy,
    FIELDS,
    path === undefined ? { what: 'the retention policy', field: 'retention rule' } : { nested: { path, kind: 'a retention policy' } },
  );
  const copy: RetentionPolicy = {};
  for (const name of POLICY_FIELDS) if (checked[name] !== undefined) copy[name] = checked[name];
  return copy;
}

/**
 * Decides which backups a retention policy keeps, and why; see {@link RetentionPolicy} for the rules.
 * Pure: the same backups, in any order, with the same policy and `now`, give the same plan.
 *
 * @param now The clock's time in ms, against which `maxAge` counts.
 * @throws {TypeError} for a policy that is not valid (see {@link checkRetentionPolicy}), a backup that
 *   is not a {@link RetentionCandidate}, two backups with one id, or a `now` that is not a time.
 * @example
 * ```ts
 * const plan = planRetention(catalog, { keepLast: 5, keepDaily: 7, keepWeekly: 4, maxTotalBytes: 5e9 }, clock.now());
 * for (const { id, keep, reasons } of plan.decisions) if (!keep) console.log(id, reasons.at(-1));
 * ```
 */
export function planRetention(backups: readonly RetentionCandidate[], policy: RetentionPolicy, now: number): RetentionPlan {
  const rules = checkRetentionPolicy(policy);
  if (!isTime(now)) throw new TypeError(`Expected \`now\` to be a time in ms, got ${describeOption(now)}`);
  const entries = linkEntries(checkCandidates(backups));
  select(entries, rules);
  if (rules.maxAge !== undefined) applyMaxAge(entries, now - rules.maxAge);
  for (const entry of entries) {
    if (entry.backup.pinned) entry.reasons.push('pinned');
    entry.root = entry.backup.pinned || entry.selected;
  }
  keepAncestors(entries);
  const overBudgetBytes = rules.maxTotalBytes === undefined ? 0 : fitBudget(entries, rules.maxTotalBytes);
  for (const entry of entries) {
    if (entry.kept && entry.parent?.kept) entry.parent.reasons.push(`parent of ${entry.backup.id} which is kept`);
  }
  let keptBytes = 0;
  let deletedBytes = 0;
  for (const { kept, backup } of entries) {
    if (kept) keptBytes += backup.bytes;
    else deletedBytes += backup.bytes;
  }
  return {
    decisions: entries.map(({ backup, kept, reasons }) => ({ id: backup.id, keep: kept, reasons })),
    keptBytes,
    deletedBytes,
    overBudgetBytes,
  };
}

/** A backup while the rules decide: oldest first, at `index`. */
interface Entry {
  backup: RetentionCandidate;
  index: number;
  parent: Entry | undefined;
  reasons: string[];
  /** A keep rule chose it and maxAge did not remove it. */
  selected: boolean;
  /** Kept for its own sake: selected or pinned. */
  root: boolean;
  kept: boolean;
  keptChildren: number;
}

function linkEntries(backups: RetentionCandidate[]): Entry[] {
  backups.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const entries: Entry[] = backups.map((backup, index) => ({
    backup,
    index,
    parent: undefined,
    reasons: [],
    selected: false,
    root: false,
    kept: false,
    keptChildren: 0,
  }));
  const byId = new Map(entries.map((entry) => [entry.backup.id, entry]));
  for (const entry of entries) entry.parent = entry.backup.parentId === null ? undefined : byId.get(entry.backup.parentId);
  return entries;
}

const PERIOD_RULES = [
  ['keepDaily', 'daily', utcDay],
  ['keepWeekly', 'weekly', isoWeek],
  ['keepMonthly', 'monthly', utcMonth],
] as const;

function select(entries: Entry[], rules: RetentionPolicy): void {
  const newestFirst = entries.toReversed();
  const { keepLast } = rules;
  if (keepLast === undefined && PERIOD_RULES.every(([name]) => rules[name] === undefined)) {
    for (const entry of entries) entry.reasons.push('no keep rule given');
  } else {
    if (keepLast !== undefined) {
      newestFirst.slice(0, keepLast).forEach((entry, rank) => entry.reasons.push(`keepLast (${rank + 1} of ${keepLast})`));
    }
    for (const [name, label, periodOf] of PERIOD_RULES) {
      const periods = rules[name];
      if (periods === undefined) continue;
      const seen = new Set<string>();
      for (const entry of newestFirst) {
        if (seen.size === periods) break;
        const period = periodOf(entry.backup.createdAt);
        if (seen.has(period)) continue;
        seen.add(period);
        entry.reasons.push(`${label} ${period}`);
      }
    }
  }
  for (const entry of entries) {
    entry.selected = entry.reasons.length > 0;
    if (!entry.selected) entry.reasons.push('not selected by any keep rule');
  }
}

function applyMaxAge(entries: Entry[], cutoff: number): void {
  for (const entry of entries) {
    if (entry.backup.createdAt >= cutoff) continue;
    entry.selected = false;
    entry.reasons.push(`older than maxAge (created ${isoTime(entry.backup.createdAt)}, cutoff ${isoTime(cutoff)})`);
  }
}

function keepAncestors(entries: Entry[]): void {
  for (const entry of entries) {
    // Stopping at a kept ancestor also ends a parent chain that loops.
    for (let at: Entry | undefined = entry.root ? entry : undefined; at !== undefined && !at.kept; at = at.parent) at.kept = true;
  }
  for (const entry of entries) if (entry.kept && entry.parent?.kept) entry.parent.keptChildren++;
}

/** Deletes the oldest deletable kept backups until the kept total fits; returns what is still over. */
function fitBudget(entries: Entry[], maxTotalBytes: number): number {
  let total = 0;
  for (const entry of entries) if (entry.kept) total += entry.backup.bytes;
  let index = 0;
  while (total > maxTotalBytes && index < entries.length) {
    const entry = entries[index];
    if (!entry.kept || entry.backup.pinned || entry.keptChildren > 0) {
      index++;
      continue;
    }
    entry.kept = false;
    entry.reasons.push(`over maxTotalBytes (kept total ${total} bytes, limit ${maxTotalBytes})`);
    total -= entry.backup.bytes;
    let next = index + 1;
    for (let parent = entry.parent; parent?.kept; parent = parent.parent) {
      if (--parent.keptChildren > 0) break;
      if (parent.root) {
        // Newly deletable, and perhaps older than the ones already passed over.
        next = Math.min(next, parent.index);
        break;
      }
      parent.kept = false;
      total -= parent.backup.bytes;
    }
    index = next;
  }
  return Math.max(0, total - maxTotalBytes);
}

function checkCandidates(backups: unknown): RetentionCandidate[] {
  if (!Array.isArray(backups)) throw new TypeError(`Expected \`backups\` to be an array, got ${describeOption(backups)}`);
  const ids = new Set<string>();
  return backups.map((backup: unknown, index) => {
    const where = `backups[${index}]`;
    if (typeof backup !== 'object' || backup === null || Array.isArray(backup)) {
      throw new TypeError(`Expected \`${where}\` to be a backup object, got ${describeOption(backup)}`);
    }
    const { id, parentId, createdAt, bytes, pinned } = backup as Record<string, unknown>;
    const fail = (field: string, expected: string, value: unknown) => new TypeError(`Expected \`${where}.${field}\` to be ${expected}, got ${describeOption(value)}`);
    if (typeof id !== 'string' || id.length === 0) throw fail('id', 'a non-empty string', id);
    if (parentId !== null && (typeof parentId !== 'string' || parentId.length === 0)) throw fail('parentId', 'a non-empty string or null', parentId);
    if (!isTime(createdAt)) throw fail('createdAt', 'a time in ms', createdAt);
    if (!(Number.isSafeInteger(bytes) && (bytes as number) >= 0)) throw fail('bytes', 'a non-negative integer', bytes);
    if (typeof pinned !== 'boolean') throw fail('pinned', 'a boolean', pinned);
    if (ids.has(id)) throw new TypeError(`Expected each backup id to be unique, got ${describeOption(id)} twice`);
    ids.add(id);
    return backup as RetentionCandidate;
  });
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(new Date(value).getTime());
}

const DAY_MS = 86_400_000;
const pad = (n: number, width = 2) => String(n).padStart(width, '0');

function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

function utcDay(ms: number): string {
  const date = new Date(ms);
  return `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}`;
}

function utcMonth(ms: number): string {
  const date = new Date(ms);
  return `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1)}`;
}

/** ISO 8601: weeks start on Monday, and a week belongs to the year that holds its Thursday. */
function isoWeek(ms: number): string {
  const midnight = Math.floor(ms / DAY_MS) * DAY_MS;
  const mondayBased = (new Date(midnight).getUTCDay() + 6) % 7;
  const thursday = new Date(midnight + (3 - mondayBased) * DAY_MS);
  const year = thursday.getUTCFullYear();
  const januaryFirst = new Date(0);
  januaryFirst.setUTCFullYear(year, 0, 1);
  const week = 1 + Math.floor((thursday.getTime() - januaryFirst.getTime()) / (7 * DAY_MS));
  return `${pad(year, 4)}-W${pad(week)}`;
}

/**
 * Backup retention arithmetic (DESIGN §11): random backup sets, with incremental chains whose parents
 * precede them, against random policies, with the clock injected as `now`. The keep rules are checked
 * against an oracle that finds periods another way (ISO weeks by their Monday, days and months by the
 * ISO string), so a shared mistake in the calendar would not hide.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { planRetention, type RetentionCandidate, type RetentionDecision, type RetentionPlan, type RetentionPolicy } from '../src/backup/retention.js';
import { runs } from './budget.js';

const DAY = 86_400_000;

/** Backups over a few months, from mid-2020 to 2027, so that sets cross year ends and ISO weeks 53. */
const backupsArb: fc.Arbitrary<RetentionCandidate[]> = fc
  .tuple(
    fc.integer({ min: Date.parse('2020-06-01T00:00:00Z'), max: Date.parse('2027-06-01T00:00:00Z') }),
    fc.array(
      fc.record({
        // Some made in the same ms, many on one day, some weeks apart.
        gap: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: DAY / 2 }), fc.integer({ min: 0, max: 40 * DAY })),
        parent: fc.oneof({ weight: 2, arbitrary: fc.constant<'full'>('full') }, { weight: 1, arbitrary: fc.constant<'missing'>('missing') }, { weight: 5, arbitrary: fc.nat() }),
        bytes: fc.oneof(fc.constant(0), fc.nat({ max: 1000 })),
        pinned: fc.nat({ max: 9 }).map((n) => n === 0),
      }),
      { maxLength: 30 },
    ),
  )
  .map(([start, specs]) => {
    let createdAt = start;
    return specs.map(({ gap, parent, bytes, pinned }, index): RetentionCandidate => {
      createdAt += gap;
      const parentId = parent === 'full' || index === 0 ? null : parent === 'missing' ? `gone-${index}` : `b${parent % index}`;
      return { id: `b${index}`, parentId, createdAt, bytes, pinned };
    });
  });

const policyArb: fc.Arbitrary<RetentionPolicy> = fc.record(
  {
    keepLast: fc.nat({ max: 8 }),
    keepDaily: fc.nat({ max: 8 }),
    keepWeekly: fc.nat({ max: 6 }),
    keepMonthly: fc.nat({ max: 4 }),
    maxAge: fc.integer({ min: 1, max: 200 * DAY }),
    maxTotalBytes: fc.nat({ max: 15_000 }),
  },
  { requiredKeys: [] },
);

interface Scenario {
  backups: RetentionCandidate[];
  shuffled: RetentionCandidate[];
  policy: RetentionPolicy;
  now: number;
}

const scenarioArb = (policy: fc.Arbitrary<RetentionPolicy> = policyArb): fc.Arbitrary<Scenario> =>
  backupsArb.chain((backups) =>
    fc.record({
      backups: fc.constant(backups),
      shuffled: fc.shuffledSubarray(backups, { minLength: backups.length, maxLength: backups.length }),
      policy,
      // Usually after the newest backup; sometimes before it, as a clock that stepped back.
      now: fc.integer({ min: -DAY, max: 60 * DAY }).map((after) => (backups.at(-1)?.createdAt ?? Date.parse('2026-12-01T00:00:00Z')) + after),
    }),
  );

const oldestFirst = (backups: readonly RetentionCandidate[]) =>
  [...backups].sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const monthOf = (ms: number) => new Date(ms).toISOString().slice(0, 7);
/** An ISO week is Monday to Sunday, so its Monday names it. */
const weekOf = (ms: number) => {
  const date = new Date(ms);
  return dayOf(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate() - ((date.getUTCDay() + 6) % 7)));
};

/** The ids of the newest backup in each of the `count` most recent periods that have backups. */
function newestPerPeriod(backups: readonly RetentionCandidate[], count: number, periodOf: (ms: number) => string): string[] {
  const newest = new Map<string, string>();
  for (const backup of oldestFirst(backups)) newest.set(periodOf(backup.createdAt), backup.id);
  const recent = count === 0 ? [] : [...newest.keys()].sort().slice(-count);
  return recent.map((period) => newest.get(period)!);
}

/** What the keep rules select, before maxAge, pins, chains and the budget. */
function selectedByRules(backups: readonly RetentionCandidate[], policy: RetentionPolicy): Set<string> {
  const { keepLast, keepDaily, keepWeekly, keepMonthly } = policy;
  if ([keepLast, keepDaily, keepWeekly, keepMonthly].every((rule) => rule === undefined)) return new Set(backups.map((b) => b.id));
  const selected = new Set<string>();
  if (keepLast !== undefined && keepLast > 0) for (const backup of oldestFirst(backups).slice(-keepLast)) selected.add(backup.id);
  for (const [count, periodOf] of [
    [keepDaily, dayOf],
    [keepWeekly, weekOf],
    [keepMonthly, monthOf],
  ] as const) {
    if (count !== undefined) for (const id of newestPerPeriod(backups, count, periodOf)) selected.add(id);
  }
  return selected;
}

const tooOld = (backup: RetentionCandidate, policy: RetentionPolicy, now: number) => policy.maxAge !== undefined && backup.createdAt < now - policy.maxAge;

/** The kept ids without a budget: pinned and selected-but-not-too-old backups, and all their ancestors. */
function modelKept(backups: readonly RetentionCandidate[], policy: RetentionPolicy, now: number): Set<string> {
  const byId = new Map(backups.map((b) => [b.id, b]));
  const selected = selectedByRules(backups, policy);
  const kept = new Set<string>();
  for (const backup of backups) {
    if (!backup.pinned && !(selected.has(backup.id) && !tooOld(backup, policy, now))) continue;
    for (let at: RetentionCandidate | undefined = backup; at !== undefined && !kept.has(at.id); at = at.parentId === null ? undefined : byId.get(at.parentId)) kept.add(at.id);
  }
  return kept;
}

const keptIds = (plan: RetentionPlan) => new Set(plan.decisions.filter((d) => d.keep).map((d) => d.id));
const decisionOf = (plan: RetentionPlan, id: string) => plan.decisions.find((d) => d.id === id) as RetentionDecision;

const KEEP_REASON = /^(pinned|no keep rule given|keepLast \(\d+ of \d+\)|daily \d{4}-\d\d-\d\d|weekly \d{4}-W\d\d|monthly \d{4}-\d\d|parent of \S+ which is kept)$/;
const DELETE_REASON = /^(not selected by any keep rule|older than maxAge \(.+\)|over maxTotalBytes \(.+\))$/;

describe('backup retention (property)', () => {
  it('pinned backups are never deleted', () => {
    fc.assert(
      fc.property(scenarioArb(), ({ backups, policy, now }) => {
        const plan = planRetention(backups, policy, now);
        for (const backup of backups) if (backup.pinned) assert.equal(decisionOf(plan, backup.id).keep, true, backup.id);
      }),
      { numRuns: runs(300) },
    );
  });

  it('every ancestor in the list of a kept backup is kept, and says which child it is kept for', () => {
    fc.assert(
      fc.property(scenarioArb(), ({ backups, policy, now }) => {
        const plan = planRetention(backups, policy, now);
        const kept = keptIds(plan);
        const byId = new Map(backups.map((b) => [b.id, b]));
        for (const id of kept) {
          const { parentId } = byId.get(id)!;
          const parent = parentId === null ? undefined : byId.get(parentId);
          if (parent === undefined) continue;
          assert.ok(kept.has(parent.id), `${parent.id}, the parent of kept ${id}, is deleted`);
          assert.ok(decisionOf(plan, parent.id).reasons.includes(`parent of ${id} which is kept`));
        }
      }),
      { numRuns: runs(300) },
    );
  });

  it('keepLast N keeps the N newest backups, unless maxAge removes them', () => {
    const policy = fc.record({ keepLast: fc.nat({ max: 8 }), maxAge: fc.integer({ min: 1, max: 100 * DAY }) }, { requiredKeys: ['keepLast'] });
    fc.assert(
      fc.property(scenarioArb(policy), ({ backups, policy, now }) => {
        const plan = planRetention(backups, policy, now);
        const newest = oldestFirst(backups).toReversed().slice(0, policy.keepLast);
        newest.forEach((backup, rank) => {
          const decision = decisionOf(plan, backup.id);
          assert.ok(decision.reasons.includes(`keepLast (${rank + 1} of ${policy.keepLast})`), backup.id);
          if (!tooOld(backup, policy, now)) assert.equal(decision.keep, true, backup.id);
        });
      }),
      { numRuns: runs(300) },
    );
  });

  it('each of the keepDaily, keepWeekly and keepMonthly most recent periods with backups keeps its newest backup, unless maxAge removes it', () => {
    const withoutBudget = policyArb.map(({ maxTotalBytes, ...policy }) => policy);
    fc.assert(
      fc.property(scenarioArb(withoutBudget), ({ backups, policy, now }) => {
        const plan = planRetention(backups, policy, now);
        const byId = new Map(backups.map((b) => [b.id, b]));
        for (const [count, periodOf] of [
          [policy.keepDaily, dayOf],
          [policy.keepWeekly, weekOf],
          [policy.keepMonthly, monthOf],
        ] as const) {
          if (count === undefined) continue;
          for (const id of newestPerPeriod(backups, count, periodOf)) {
            if (!tooOld(byId.get(id)!, policy, now)) assert.equal(decisionOf(plan, id).keep, true, id);
          }
        }
      }),
      { numRuns: runs(300) },
    );
  });

  it('without a budget, the kept backups are exactly the pinned and selected ones younger than maxAge, with their ancestors', () => {
    const withoutBudget = policyArb.map(({ maxTotalBytes, ...policy }) => policy);
    fc.assert(
      fc.property(scenarioArb(withoutBudget), ({ backups, policy, now }) => {
        assert.deepEqual(keptIds(planRetention(backups, policy, now)), modelKept(backups, policy, now));
      }),
      { numRuns: runs(500) },
    );
  });

  it('the plan is deterministic and independent of the input order, oldest first', () => {
    fc.assert(
      fc.property(scenarioArb(), ({ backups, shuffled, policy, now }) => {
        const plan = planRetention(backups, policy, now);
        assert.deepEqual(planRetention(shuffled, policy, now), plan);
        assert.deepEqual(planRetention(backups, policy, now), plan);
        assert.deepEqual(plan.decisions.map((d) => d.id), oldestFirst(backups).map((b) => b.id));
      }),
      { numRuns: runs(300) },
    );
  });

  it('keptBytes + deletedBytes is the total, and keptBytes is what the kept backups hold', () => {
    fc.assert(
      fc.property(scenarioArb(), ({ backups, policy, now }) => {
        const plan = planRetention(backups, policy, now);
        const total = backups.reduce((sum, b) => sum + b.bytes, 0);
        assert.equal(plan.keptBytes + plan.deletedBytes, total);
        const kept = keptIds(plan);
        assert.equal(plan.keptBytes, backups.filter((b) => kept.has(b.id)).reduce((sum, b) => sum + b.bytes, 0));
      }),
      { numRuns: runs(300) },
    );
  });

  it('with maxTotalBytes, the kept total fits unless only pins and chains hold it over, and the budget only ever removes', () => {
    const withBudget = fc.tuple(policyArb, fc.nat({ max: 15_000 })).map(([policy, maxTotalBytes]) => ({ ...policy, maxTotalBytes }));
    fc.assert(
      fc.property(scenarioArb(withBudget), ({ backups, policy, now }) => {
        const plan = planRetention(backups, policy, now);
        const limit = policy.maxTotalBytes!;
        if (plan.overBudgetBytes === 0) assert.ok(plan.keptBytes <= limit, `kept ${plan.keptBytes} > ${limit}`);
        else {
          assert.equal(plan.overBudgetBytes, plan.keptBytes - limit);
          const kept = keptIds(plan);
          const parents = new Set(backups.filter((b) => kept.has(b.id) && b.parentId !== null).map((b) => b.parentId));
          for (const backup of backups) if (kept.has(backup.id)) assert.ok(backup.pinned || parents.has(backup.id), `${backup.id} could still go`);
        }
        const { maxTotalBytes, ...unbounded } = policy;
        const keptWithout = keptIds(planRetention(backups, unbounded, now));
        for (const id of keptIds(plan)) assert.ok(keptWithout.has(id), `${id} is kept only because of the budget`);
      }),
      { numRuns: runs(500) },
    );
  });

  it('nothing is deleted when the policy is empty', () => {
    fc.assert(
      fc.property(scenarioArb(fc.constant({})), ({ backups, now }) => {
        const plan = planRetention(backups, {}, now);
        assert.equal(plan.deletedBytes, 0);
        assert.ok(plan.decisions.every((d) => d.keep));
      }),
      { numRuns: runs(100) },
    );
  });

  it('every decision has a reason, and its last reason is the one that decided', () => {
    fc.assert(
      fc.property(scenarioArb(), ({ backups, policy, now }) => {
        for (const { id, keep, reasons } of planRetention(backups, policy, now).decisions) {
          assert.ok(reasons.length > 0, id);
          for (const reason of reasons) assert.ok(KEEP_REASON.test(reason) || DELETE_REASON.test(reason), reason);
          assert.equal(KEEP_REASON.test(reasons.at(-1)!), keep, `${id}: ${reasons.join('; ')}`);
        }
      }),
      { numRuns: runs(300) },
    );
  });
});

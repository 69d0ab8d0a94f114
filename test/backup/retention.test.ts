import assert from 'node:assert/strict';
import { checkRetentionPolicy, planRetention, type RetentionCandidate, type RetentionPlan, type RetentionPolicy } from '../../src/backup/retention.js';

const at = (iso: string) => Date.parse(iso);

function backup(id: string, iso: string, options: Partial<RetentionCandidate> = {}): RetentionCandidate {
  return { id, parentId: null, createdAt: at(iso), bytes: 100, pinned: false, ...options };
}

const NOW = at('2027-01-10T12:00:00Z');

function plan(backups: RetentionCandidate[], policy: RetentionPolicy, now = NOW): RetentionPlan {
  const result = planRetention(backups, policy, now);
  // What the audit records must survive being stored.
  assert.deepEqual(JSON.parse(JSON.stringify(result)), result);
  return result;
}

const keptIds = (result: RetentionPlan) => result.decisions.filter((d) => d.keep).map((d) => d.id);
const deletedIds = (result: RetentionPlan) => result.decisions.filter((d) => !d.keep).map((d) => d.id);
const reasonsOf = (result: RetentionPlan, id: string) => result.decisions.find((d) => d.id === id)?.reasons;

describe('planRetention', () => {
  describe('selection', () => {
    it('keeps everything when the policy is empty, saying no keep rule was given', () => {
      const backups = [backup('a', '2026-01-01T00:00:00Z'), backup('b', '2026-06-01T00:00:00Z')];
      const result = plan(backups, {});
      assert.deepEqual(result.decisions, [
        { id: 'a', keep: true, reasons: ['no keep rule given'] },
        { id: 'b', keep: true, reasons: ['no keep rule given'] },
      ]);
      assert.equal(result.keptBytes, 200);
      assert.equal(result.deletedBytes, 0);
      assert.equal(result.overBudgetBytes, 0);
    });

    it('returns an empty plan for no backups', () => {
      assert.deepEqual(plan([], { keepLast: 3, maxTotalBytes: 0 }), { decisions: [], keptBytes: 0, deletedBytes: 0, overBudgetBytes: 0 });
    });

    it('keepLast keeps the N newest and ranks them, newest first', () => {
      const backups = ['1', '2', '3', '4', '5'].map((day) => backup(`b${day}`, `2026-12-0${day}T08:00:00Z`));
      const result = plan(backups, { keepLast: 2 });
      assert.deepEqual(result.decisions, [
        { id: 'b1', keep: false, reasons: ['not selected by any keep rule'] },
        { id: 'b2', keep: false, reasons: ['not selected by any keep rule'] },
        { id: 'b3', keep: false, reasons: ['not selected by any keep rule'] },
        { id: 'b4', keep: true, reasons: ['keepLast (2 of 2)'] },
        { id: 'b5', keep: true, reasons: ['keepLast (1 of 2)'] },
      ]);
      assert.equal(result.keptBytes, 200);
      assert.equal(result.deletedBytes, 300);
    });

    it('keepLast 0 is a keep rule that selects nothing', () => {
      const result = plan([backup('a', '2026-12-01T00:00:00Z'), backup('b', '2026-12-02T00:00:00Z', { pinned: true })], { keepLast: 0 });
      assert.deepEqual(keptIds(result), ['b']);
      assert.deepEqual(reasonsOf(result, 'a'), ['not selected by any keep rule']);
    });

    it('keepLast larger than the number of backups keeps them all', () => {
      const result = plan([backup('a', '2026-12-01T00:00:00Z'), backup('b', '2026-12-02T00:00:00Z')], { keepLast: 10 });
      assert.deepEqual(result.decisions.map((d) => d.reasons), [['keepLast (2 of 10)'], ['keepLast (1 of 10)']]);
    });

    it('keepDaily keeps the newest backup of each UTC day, counting only days that have backups', () => {
      const backups = [
        backup('nov28', '2026-11-28T10:00:00Z'),
        backup('nov30-early', '2026-11-30T00:00:00Z'),
        backup('nov30-late', '2026-11-30T23:59:59.999Z'),
        backup('dec01-midnight', '2026-12-01T00:00:00Z'),
        backup('dec01-noon', '2026-12-01T12:00:00Z'),
        // No backup on 2 to 4 December: those days do not count.
        backup('dec05', '2026-12-05T06:00:00Z'),
      ];
      const result = plan(backups, { keepDaily: 3 });
      assert.deepEqual(keptIds(result), ['nov30-late', 'dec01-noon', 'dec05']);
      assert.deepEqual(reasonsOf(result, 'nov30-late'), ['daily 2026-11-30']);
      assert.deepEqual(reasonsOf(result, 'dec01-noon'), ['daily 2026-12-01']);
      assert.deepEqual(reasonsOf(result, 'dec05'), ['daily 2026-12-05']);
      assert.deepEqual(reasonsOf(result, 'nov30-early'), ['not selected by any keep rule']);
    });

    it('keepDaily reads days in UTC, whatever the local time zone says', () => {
      const backups = [
        backup('ny-noon', '2026-12-31T12:00:00-05:00'),
        // 20:00 and 23:30 in New York on 31 December are already 1 January in UTC.
        backup('ny-evening', '2026-12-31T20:00:00-05:00'),
        backup('ny-late', '2026-12-31T23:30:00-05:00'),
      ];
      const result = plan(backups, { keepDaily: 2 });
      assert.deepEqual(result.decisions, [
        { id: 'ny-noon', keep: true, reasons: ['daily 2026-12-31'] },
        { id: 'ny-evening', keep: false, reasons: ['not selected by any keep rule'] },
        { id: 'ny-late', keep: true, reasons: ['daily 2027-01-01'] },
      ]);
    });

    it('keepWeekly groups by ISO week: week 53 of 2026 runs into January 2027', () => {
      const backups = [
        backup('sun-w52', '2026-12-27T23:00:00Z'),
        backup('mon-w53', '2026-12-28T00:00:00Z'),
        backup('thu-w53', '2026-12-31T12:00:00Z'),
        backup('sun-w53', '2027-01-03T23:59:59Z'),
        backup('mon-w01', '2027-01-04T00:00:00Z'),
      ];
      const result = plan(backups, { keepWeekly: 3 });
      assert.deepEqual(result.decisions, [
        { id: 'sun-w52', keep: true, reasons: ['weekly 2026-W52'] },
        { id: 'mon-w53', keep: false, reasons: ['not selected by any keep rule'] },
        { id: 'thu-w53', keep: false, reasons: ['not selected by any keep rule'] },
        { id: 'sun-w53', keep: true, reasons: ['weekly 2026-W53'] },
        { id: 'mon-w01', keep: true, reasons: ['weekly 2027-W01'] },
      ]);
    });

    it('keepWeekly puts the last days of a December into the next ISO year when its Thursday is there', () => {
      const backups = [backup('dec29-2024', '2024-12-29T12:00:00Z'), backup('dec30-2024', '2024-12-30T12:00:00Z'), backup('jan03-2021', '2021-01-03T12:00:00Z')];
      const result = plan(backups, { keepWeekly: 5 });
      assert.deepEqual(
        result.decisions.map((d) => [d.id, d.reasons]),
        [
          ['jan03-2021', ['weekly 2020-W53']],
          ['dec29-2024', ['weekly 2024-W52']],
          ['dec30-2024', ['weekly 2025-W01']],
        ],
      );
    });

    it('keepMonthly keeps the newest backup of each calendar month, across a year end', () => {
      const backups = [
        backup('oct', '2026-10-15T00:00:00Z'),
        backup('nov-first', '2026-11-01T00:00:00Z'),
        backup('nov-last', '2026-11-30T23:59:59.999Z'),
        backup('dec', '2026-12-01T00:00:00Z'),
        backup('jan', '2027-01-01T00:00:00Z'),
      ];
      const result = plan(backups, { keepMonthly: 3 });
      assert.deepEqual(keptIds(result), ['nov-last', 'dec', 'jan']);
      assert.deepEqual(
        result.decisions.filter((d) => d.keep).map((d) => d.reasons),
        [['monthly 2026-11'], ['monthly 2026-12'], ['monthly 2027-01']],
      );
    });

    it('keeps what any keep rule selects, and lists every rule that did', () => {
      const backups = [
        backup('oct', '2026-10-31T10:00:00Z'),
        backup('dec01', '2026-12-01T10:00:00Z'),
        backup('dec02', '2026-12-02T10:00:00Z'),
        backup('dec03', '2026-12-03T10:00:00Z'),
      ];
      const result = plan(backups, { keepLast: 1, keepDaily: 2, keepWeekly: 1, keepMonthly: 2 });
      assert.deepEqual(result.decisions, [
        { id: 'oct', keep: true, reasons: ['monthly 2026-10'] },
        { id: 'dec01', keep: false, reasons: ['not selected by any keep rule'] },
        { id: 'dec02', keep: true, reasons: ['daily 2026-12-02'] },
        { id: 'dec03', keep: true, reasons: ['keepLast (1 of 1)', 'daily 2026-12-03', 'weekly 2026-W49', 'monthly 2026-12'] },
      ]);
    });
  });

  describe('maxAge', () => {
    it('deletes what a keep rule selected once it is older than now - maxAge; the cutoff itself stays', () => {
      const day = 86_400_000;
      const backups = [backup('old', '2027-01-02T11:59:59.999Z'), backup('edge', '2027-01-03T12:00:00Z'), backup('new', '2027-01-09T00:00:00Z')];
      const result = plan(backups, { keepLast: 3, maxAge: 7 * day });
      assert.deepEqual(keptIds(result), ['edge', 'new']);
      assert.deepEqual(reasonsOf(result, 'old'), [
        'keepLast (3 of 3)',
        'older than maxAge (created 2027-01-02T11:59:59.999Z, cutoff 2027-01-03T12:00:00.000Z)',
      ]);
    });

    it('alone, keeps every backup younger than maxAge', () => {
      const result = plan([backup('old', '2026-01-01T00:00:00Z'), backup('new', '2027-01-10T00:00:00Z')], { maxAge: 86_400_000 });
      assert.deepEqual(result.decisions.map((d) => [d.id, d.keep, d.reasons.length]), [
        ['old', false, 2],
        ['new', true, 1],
      ]);
      assert.equal(reasonsOf(result, 'new')?.[0], 'no keep rule given');
    });
  });

  describe('pins', () => {
    it('keeps a pinned backup that no rule selects, that is too old, and that the budget would delete', () => {
      const backups = [backup('pinned', '2020-01-01T00:00:00Z', { pinned: true, bytes: 1000 }), backup('new', '2027-01-10T00:00:00Z')];
      const result = plan(backups, { keepLast: 1, maxAge: 86_400_000, maxTotalBytes: 500 });
      assert.deepEqual(result.decisions, [
        {
          id: 'pinned',
          keep: true,
          reasons: ['not selected by any keep rule', 'older than maxAge (created 2020-01-01T00:00:00.000Z, cutoff 2027-01-09T12:00:00.000Z)', 'pinned'],
        },
        { id: 'new', keep: false, reasons: ['keepLast (1 of 1)', 'over maxTotalBytes (kept total 1100 bytes, limit 500)'] },
      ]);
      assert.equal(result.keptBytes, 1000);
      assert.equal(result.overBudgetBytes, 500);
    });
  });

  describe('chains', () => {
    const chain = [
      backup('older-full', '2026-11-30T00:00:00Z'),
      backup('full', '2026-12-01T00:00:00Z'),
      backup('inc1', '2026-12-02T00:00:00Z', { parentId: 'full' }),
      backup('inc2', '2026-12-03T00:00:00Z', { parentId: 'inc1' }),
    ];

    it('keeps every ancestor of a kept incremental, each naming its kept child', () => {
      const result = plan(chain, { keepLast: 1 });
      assert.deepEqual(result.decisions, [
        { id: 'older-full', keep: false, reasons: ['not selected by any keep rule'] },
        { id: 'full', keep: true, reasons: ['not selected by any keep rule', 'parent of inc1 which is kept'] },
        { id: 'inc1', keep: true, reasons: ['not selected by any keep rule', 'parent of inc2 which is kept'] },
        { id: 'inc2', keep: true, reasons: ['keepLast (1 of 1)'] },
      ]);
    });

    it('keeps an ancestor older than maxAge, and a pinned incremental keeps its chain too', () => {
      const withPin = chain.map((b) => (b.id === 'inc1' ? { ...b, pinned: true } : b));
      const result = plan(withPin, { keepLast: 4, maxAge: 1.5 * 86_400_000 }, at('2026-12-03T00:00:00Z'));
      assert.deepEqual(keptIds(result), ['full', 'inc1', 'inc2']);
      assert.deepEqual(reasonsOf(result, 'full'), [
        'keepLast (3 of 4)',
        'older than maxAge (created 2026-12-01T00:00:00.000Z, cutoff 2026-12-01T12:00:00.000Z)',
        'parent of inc1 which is kept',
      ]);
      assert.deepEqual(reasonsOf(result, 'inc1'), ['keepLast (2 of 4)', 'pinned', 'parent of inc2 which is kept']);
      assert.deepEqual(reasonsOf(result, 'older-full'), [
        'keepLast (4 of 4)',
        'older than maxAge (created 2026-11-30T00:00:00.000Z, cutoff 2026-12-01T12:00:00.000Z)',
      ]);
    });

    it('names each kept child of a backup that two incrementals build on', () => {
      const backups = [
        backup('full', '2026-12-01T00:00:00Z'),
        backup('left', '2026-12-02T00:00:00Z', { parentId: 'full' }),
        backup('right', '2026-12-03T00:00:00Z', { parentId: 'full' }),
      ];
      const result = plan(backups, { keepLast: 2 });
      assert.deepEqual(reasonsOf(result, 'full'), ['not selected by any keep rule', 'parent of left which is kept', 'parent of right which is kept']);
    });

    it('accepts a parent that is not in the list', () => {
      const result = plan([backup('inc', '2026-12-02T00:00:00Z', { parentId: 'gone' })], { keepLast: 1 });
      assert.deepEqual(result.decisions, [{ id: 'inc', keep: true, reasons: ['keepLast (1 of 1)'] }]);
    });
  });

  describe('maxTotalBytes', () => {
    const backups = [
      backup('f1', '2026-12-01T00:00:00Z', { bytes: 100 }),
      backup('i1', '2026-12-02T00:00:00Z', { bytes: 10, parentId: 'f1' }),
      backup('i2', '2026-12-03T00:00:00Z', { bytes: 10, parentId: 'i1' }),
      backup('f2', '2026-12-04T00:00:00Z', { bytes: 100 }),
      backup('i3', '2026-12-05T00:00:00Z', { bytes: 10, parentId: 'f2' }),
    ];

    it('deletes the oldest backup that nothing kept builds on: the end of a chain before its full backup', () => {
      const result = plan(backups, { maxTotalBytes: 225 });
      assert.deepEqual(deletedIds(result), ['i2']);
      assert.deepEqual(reasonsOf(result, 'i2'), ['no keep rule given', 'over maxTotalBytes (kept total 230 bytes, limit 225)']);
      assert.deepEqual(reasonsOf(result, 'i1'), ['no keep rule given']);
      assert.deepEqual(reasonsOf(result, 'f1'), ['no keep rule given', 'parent of i1 which is kept']);
      assert.deepEqual([result.keptBytes, result.deletedBytes, result.overBudgetBytes], [220, 10, 0]);
    });

    it('then the incremental before it, then the full backup, once nothing kept builds on them', () => {
      const result = plan(backups, { maxTotalBytes: 120 });
      assert.deepEqual(keptIds(result), ['f2', 'i3']);
      assert.deepEqual(
        result.decisions.filter((d) => !d.keep).map((d) => d.reasons.at(-1)),
        [
          'over maxTotalBytes (kept total 210 bytes, limit 120)',
          'over maxTotalBytes (kept total 220 bytes, limit 120)',
          'over maxTotalBytes (kept total 230 bytes, limit 120)',
        ],
      );
      assert.deepEqual([result.keptBytes, result.deletedBytes, result.overBudgetBytes], [110, 120, 0]);
    });

    it('deletes everything unpinned when the budget is 0', () => {
      const result = plan(backups, { maxTotalBytes: 0 });
      assert.deepEqual(keptIds(result), []);
      assert.deepEqual([result.keptBytes, result.deletedBytes, result.overBudgetBytes], [0, 230, 0]);
    });

    it('deletes with an incremental the parent that was kept only for it', () => {
      const result = plan(
        [backup('full', '2026-12-01T00:00:00Z', { bytes: 1000 }), backup('inc', '2026-12-02T00:00:00Z', { bytes: 10, parentId: 'full' })],
        { keepLast: 1, maxTotalBytes: 500 },
      );
      assert.deepEqual(result.decisions, [
        { id: 'full', keep: false, reasons: ['not selected by any keep rule'] },
        { id: 'inc', keep: false, reasons: ['keepLast (1 of 1)', 'over maxTotalBytes (kept total 1010 bytes, limit 500)'] },
      ]);
      assert.deepEqual([result.keptBytes, result.deletedBytes, result.overBudgetBytes], [0, 1010, 0]);
    });

    it('reports what is still over when pins and chains forbid more deletes', () => {
      const result = plan(
        [
          backup('full', '2026-12-01T00:00:00Z', { bytes: 1000 }),
          backup('inc', '2026-12-02T00:00:00Z', { bytes: 10, parentId: 'full', pinned: true }),
          backup('spare', '2026-12-03T00:00:00Z', { bytes: 5 }),
        ],
        { maxTotalBytes: 100 },
      );
      assert.deepEqual(result.decisions, [
        { id: 'full', keep: true, reasons: ['no keep rule given', 'parent of inc which is kept'] },
        { id: 'inc', keep: true, reasons: ['no keep rule given', 'pinned'] },
        { id: 'spare', keep: false, reasons: ['no keep rule given', 'over maxTotalBytes (kept total 1015 bytes, limit 100)'] },
      ]);
      assert.deepEqual([result.keptBytes, result.deletedBytes, result.overBudgetBytes], [1010, 5, 910]);
    });

    it('deletes nothing when the kept total already fits', () => {
      const result = plan(backups, { maxTotalBytes: 230 });
      assert.deepEqual(deletedIds(result), []);
    });
  });

  it('plans the example of docs/backups.md as it shows', () => {
    const GB = 1e9;
    const backups = [
      backup('b-100', '2026-11-30T09:00:00Z', { bytes: 2 * GB }),
      backup('b-101', '2026-12-01T09:00:00Z', { bytes: 2.5 * GB }),
      backup('b-102', '2026-12-01T21:00:00Z', { bytes: 0.3 * GB, parentId: 'b-101' }),
      backup('b-103', '2026-12-02T21:00:00Z', { bytes: 2 * GB }),
      backup('b-104', '2026-12-03T09:00:00Z', { bytes: 0.2 * GB, parentId: 'b-103' }),
      backup('b-105', '2026-12-03T10:00:00Z', { bytes: 0.2 * GB, parentId: 'b-104' }),
    ];
    const result = plan(backups, { keepLast: 2, keepDaily: 3, maxAge: 2 * 86_400_000, maxTotalBytes: 5e9 }, at('2026-12-03T12:00:00Z'));
    assert.deepEqual(result, {
      decisions: [
        { id: 'b-100', keep: false, reasons: ['not selected by any keep rule', 'older than maxAge (created 2026-11-30T09:00:00.000Z, cutoff 2026-12-01T12:00:00.000Z)'] },
        { id: 'b-101', keep: false, reasons: ['not selected by any keep rule', 'older than maxAge (created 2026-12-01T09:00:00.000Z, cutoff 2026-12-01T12:00:00.000Z)'] },
        { id: 'b-102', keep: false, reasons: ['daily 2026-12-01', 'over maxTotalBytes (kept total 5200000000 bytes, limit 5000000000)'] },
        { id: 'b-103', keep: true, reasons: ['daily 2026-12-02', 'parent of b-104 which is kept'] },
        { id: 'b-104', keep: true, reasons: ['keepLast (2 of 2)', 'parent of b-105 which is kept'] },
        { id: 'b-105', keep: true, reasons: ['keepLast (1 of 2)', 'daily 2026-12-03'] },
      ],
      keptBytes: 2_400_000_000,
      deletedBytes: 4_800_000_000,
      overBudgetBytes: 0,
    });
  });

  describe('order', () => {
    it('returns decisions oldest first, by createdAt then id, whatever the input order', () => {
      const backups = [
        backup('c', '2026-12-02T00:00:00Z'),
        backup('b', '2026-12-01T00:00:00Z'),
        backup('a', '2026-12-02T00:00:00Z'),
      ];
      const forward = plan(backups, { keepLast: 1 });
      assert.deepEqual(forward.decisions.map((d) => d.id), ['b', 'a', 'c']);
      // Of two backups made in the same ms, the one with the greater id counts as the newer.
      assert.deepEqual(keptIds(forward), ['c']);
      assert.deepEqual(plan(backups.toReversed(), { keepLast: 1 }), forward);
    });

    it('leaves the input array as it was', () => {
      const backups = [backup('b', '2026-12-02T00:00:00Z'), backup('a', '2026-12-01T00:00:00Z')];
      const copy = structuredClone(backups);
      plan(backups, { keepLast: 1, maxTotalBytes: 0 });
      assert.deepEqual(backups, copy);
    });
  });

  describe('arguments', () => {
    const valid = [backup('a', '2026-12-01T00:00:00Z')];
    const cases: [string, unknown, unknown, unknown, string][] = [
      ['a policy that is not valid', valid, { keepLast: -1 }, NOW, 'Expected `keepLast` to be a non-negative integer, got `-1` (number)'],
      ['backups that are not an array', { a: 1 }, {}, NOW, 'Expected `backups` to be an array, got `{"a":1}` (object)'],
      ['a backup that is not an object', [null], {}, NOW, 'Expected `backups[0]` to be a backup object, got `null`'],
      ['an empty id', [{ ...valid[0], id: '' }], {}, NOW, 'Expected `backups[0].id` to be a non-empty string, got `""` (string)'],
      ['an absent parentId', [{ ...valid[0], parentId: undefined }], {}, NOW, 'Expected `backups[0].parentId` to be a non-empty string or null, got `undefined` (undefined)'],
      ['a createdAt that is not a time', [{ ...valid[0], createdAt: Number.NaN }], {}, NOW, 'Expected `backups[0].createdAt` to be a time in ms, got `NaN` (number)'],
      ['a createdAt given as a Date', [{ ...valid[0], createdAt: new Date(0) }], {}, NOW, 'Expected `backups[0].createdAt` to be a time in ms, got `1970-01-01T00:00:00.000Z` (object)'],
      ['negative bytes', [{ ...valid[0], bytes: -5 }], {}, NOW, 'Expected `backups[0].bytes` to be a non-negative integer, got `-5` (number)'],
      ['fractional bytes', [{ ...valid[0], bytes: 1.5 }], {}, NOW, 'Expected `backups[0].bytes` to be a non-negative integer, got `1.5` (number)'],
      ['a pinned that is not a boolean', [{ ...valid[0], pinned: 'yes' }], {}, NOW, 'Expected `backups[0].pinned` to be a boolean, got `"yes"` (string)'],
      ['two backups with one id', [valid[0], { ...valid[0], createdAt: 5 }], {}, NOW, 'Expected each backup id to be unique, got `"a"` (string) twice'],
      ['a now that is not a time', valid, {}, Infinity, 'Expected `now` to be a time in ms, got `Infinity` (number)'],
      ['a now past the last date', valid, {}, 8.64e15 + 1, 'Expected `now` to be a time in ms, got `8640000000000001` (number)'],
    ];
    for (const [what, backups, policy, now, message] of cases) {
      it(`refuses ${what} with a TypeError`, () => {
        assert.throws(() => planRetention(backups as RetentionCandidate[], policy as RetentionPolicy, now as number), { name: 'TypeError', message });
      });
    }
  });
});

describe('checkRetentionPolicy', () => {
  it('accepts an empty policy', () => {
    assert.deepEqual(checkRetentionPolicy({}), {});
  });

  it('returns a copy of the fields given, without those left undefined', () => {
    const policy = { keepLast: 0, keepDaily: 7, keepWeekly: undefined, maxAge: 1, maxTotalBytes: 0 };
    const checked = checkRetentionPolicy(policy);
    assert.deepEqual(checked, { keepLast: 0, keepDaily: 7, maxAge: 1, maxTotalBytes: 0 });
    assert.notEqual(checked, policy);
  });

  const counts = ['keepLast', 'keepDaily', 'keepWeekly', 'keepMonthly', 'maxTotalBytes'] as const;
  for (const name of counts) {
    const expected = name === 'maxTotalBytes' ? 'a non-negative integer (bytes)' : 'a non-negative integer';
    for (const [value, shown] of [
      [-1, '`-1` (number)'],
      [2.5, '`2.5` (number)'],
      [Number.NaN, '`NaN` (number)'],
      [2 ** 53, '`9007199254740992` (number)'],
      ['3', '`"3"` (string)'],
      [null, '`null`'],
    ] as const) {
      it(`refuses ${name}: ${shown}`, () => {
        assert.throws(() => checkRetentionPolicy({ [name]: value }), { name: 'TypeError', message: `Expected \`${name}\` to be ${expected}, got ${shown}` });
      });
    }
  }

  for (const [value, shown] of [
    [0, '`0` (number)'],
    [-1000, '`-1000` (number)'],
    [1.5, '`1.5` (number)'],
    [Infinity, '`Infinity` (number)'],
  ] as const) {
    it(`refuses maxAge: ${shown}`, () => {
      assert.throws(() => checkRetentionPolicy({ maxAge: value }), { name: 'TypeError', message: `Expected \`maxAge\` to be a positive integer (ms), got ${shown}` });
    });
  }

  it('refuses an unknown field, listing the known ones', () => {
    assert.throws(() => checkRetentionPolicy({ keepHourly: 24 }), {
      name: 'TypeError',
      message: 'Unknown retention rule `keepHourly`; the options are `keepLast`, `keepDaily`, `keepWeekly`, `keepMonthly`, `maxAge`, `maxTotalBytes`',
    });
  });

  for (const [value, shown] of [
    [null, '`null`'],
    [[], '`[]` (array)'],
    [5, '`5` (number)'],
    [undefined, '`undefined` (undefined)'],
  ] as const) {
    it(`refuses a policy that is not an object: ${shown}`, () => {
      assert.throws(() => checkRetentionPolicy(value), { name: 'TypeError', message: `Expected the retention policy to be an object, got ${shown}` });
    });
  }

  it('names the path of a policy inside other options', () => {
    const path = 'backups.retention';
    assert.throws(() => checkRetentionPolicy({ keepLast: -1 }, path), { message: 'Expected `backups.retention.keepLast` to be a non-negative integer, got `-1` (number)' });
    assert.throws(() => checkRetentionPolicy({ keep: 1 }, path), {
      message: 'Unknown field `backups.retention.keep`; a retention policy has `keepLast`, `keepDaily`, `keepWeekly`, `keepMonthly`, `maxAge` and `maxTotalBytes`',
    });
    assert.throws(() => checkRetentionPolicy('daily', path), { message: 'Expected `backups.retention` to be a retention policy object, got `"daily"` (string)' });
  });
});

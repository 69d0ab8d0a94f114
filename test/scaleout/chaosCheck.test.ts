import assert from 'node:assert/strict';
import { chaosViolations, type AuditedWrite, type Delivered, type ChaosRecord, type ReadRecord, type WriteRecord } from './chaosCheck.js';
import type { LoggedSet } from './runtimeProcess.js';

const SCOPE = 'agent:a0';

function write(value: string, sentAt: number, settledAt: number, outcome: WriteRecord['outcome'] = 'acked', by = 'p0'): WriteRecord {
  return { scope: SCOPE, key: 'k', value, by, sentAt, settledAt, outcome, ...(outcome === 'acked' ? {} : { code: outcome === 'refused' ? 'LEASE_LOST' : 'PROCESS_EXITED' }) };
}

function delivered(id: string): Delivered {
  return { executionId: `x${id}`, attempt: 1, startedAt: 0, durationMs: 1, by: 'p0' };
}

function read(value: string | null, sentAt: number, settledAt: number): ReadRecord {
  return { scope: SCOPE, key: 'k', by: 'p1', sentAt, settledAt, value };
}

/** A record whose log holds `logged` in that order, one commit each, written under `by`'s lease. */
function recordOf(writes: WriteRecord[], logged: string[], extra: Partial<ChaosRecord> = {}): ChaosRecord {
  const events: LoggedSet[] = logged.map((value, i) => ({ id: `${i + 1}.0`, seq: i + 1, scope: SCOPE, key: 'k', value }));
  const audit: AuditedWrite[] = logged.map((value, i) => ({ seq: i + 1, scope: SCOPE, key: 'k', value, leaseOwner: writes.find((one) => one.value === value)?.by }));
  const last = logged.at(-1) ?? null;
  return {
    writes,
    reads: [],
    finalValues: new Map([['p0', new Map([[`${SCOPE} k`, last]])]]),
    events,
    audit,
    deliveries: new Map(events.map((event) => [event.id, [delivered(event.id)]])),
    says: [],
    chatTexts: new Map(),
    ...extra,
  };
}

describe('the checker of the seeded-fault runs across processes', () => {
  const a = write('a', 0, 10);
  const b = write('b', 20, 30);

  it('finds nothing wrong in a history that keeps every rule', () => {
    const unknown = write('c', 40, 50, 'unknown');
    const record = recordOf([a, b, unknown], ['a', 'b', 'c'], { reads: [read(null, -5, 5), read('a', 12, 15), read('b', 25, 45)] });
    assert.deepEqual(chaosViolations(record), []);
  });

  it('accepts two overlapping writes logged in either order', () => {
    const early = write('x', 0, 100);
    const late = write('y', 10, 20);
    assert.deepEqual(chaosViolations(recordOf([early, late], ['y', 'x'])), []);
    assert.deepEqual(chaosViolations(recordOf([early, late], ['x', 'y'])), []);
  });

  it('finds an acknowledged write missing from the log', () => {
    assert.match(chaosViolations(recordOf([a, b], ['a'])).join('\n'), /acknowledged write b \(by p0\) is not in the log/);
  });

  it('finds a refused write that was applied', () => {
    const refused = write('r', 40, 50, 'refused');
    assert.match(chaosViolations(recordOf([a, refused], ['a', 'r'])).join('\n'), /r was refused \(LEASE_LOST\) by p0, and is logged/);
  });

  it('finds a write logged before one that was answered before it was sent', () => {
    assert.match(chaosViolations(recordOf([a, b], ['b', 'a'])).join('\n'), /a was answered before b was sent, and is logged after it/);
  });

  it('finds a stale read, a read of nothing after an acknowledged write, and a read of a value never logged', () => {
    const record = recordOf([a, b, write('lost', 40, 50, 'unknown')], ['a', 'b'], { reads: [read('a', 35, 40), read(null, 11, 12), read('lost', 60, 70)] });
    const found = chaosViolations(record).join('\n');
    assert.match(found, /"a", though b, logged after it, was answered before the read was sent/);
    assert.match(found, /read by p1: null, though a, logged after it, was answered before the read was sent/);
    assert.match(found, /read by p1: lost, which is not in the log/);
  });

  it('does not hold a read to a write whose process died, answered before the read was sent', () => {
    // c's process was found dead at 41; its COMMIT, already sent, landed after the read of b was served.
    const record = recordOf([a, b, write('c', 35, 41, 'unknown')], ['a', 'b', 'c'], { reads: [read('b', 42, 45)] });
    assert.deepEqual(chaosViolations(record), []);
  });

  it('finds a process that reads another value at the end than the log\'s last', () => {
    const record = recordOf([a, b], ['a', 'b']);
    record.finalValues.set('p1', new Map([[`${SCOPE} k`, 'a']]));
    assert.match(chaosViolations(record).join('\n'), /p1 reads "a" at the end, the log's last write is "b"/);
  });

  it('finds a record written while another process held the lease, and a record in another commit than its event', () => {
    const record = recordOf([a, b], ['a', 'b']);
    record.audit[1] = { ...record.audit[1]!, leaseOwner: 'p2' };
    record.audit[0] = { ...record.audit[0]!, seq: 7 };
    const found = chaosViolations(record).join('\n');
    assert.match(found, /b was written by p0 in commit 2, while p2 held the lease/);
    assert.match(found, /a is the key's last write in commit 1, and has its record in 7/);
  });

  it('finds a transaction logged in part, or across two commits', () => {
    const inTransaction = (value: string, key: string): WriteRecord => ({ ...write(value, 40, 50), key, transaction: 't1' });
    const [x, y] = [inTransaction('x', 'k'), inTransaction('y', 'j')];
    const record = recordOf([a, x, y], ['a', 'x']);
    assert.match(chaosViolations(record).join('\n'), /transaction t1 was not committed whole: x in 2, y in none/);
    record.events.push({ id: '3.0', seq: 3, scope: SCOPE, key: 'j', value: 'y' });
    assert.match(chaosViolations(record).join('\n'), /transaction t1 was not committed whole: x in 2, y in 3/);
    record.events[2] = { id: '2.1', seq: 2, scope: SCOPE, key: 'j', value: 'y' };
    assert.doesNotMatch(chaosViolations(record).join('\n'), /transaction t1/);
  });

  it('finds an event delivered twice or never', () => {
    const twice = recordOf([a, b], ['a', 'b']);
    twice.deliveries.set('1.0', [delivered('1.0'), delivered('1.0')]);
    twice.deliveries.delete('2.0');
    const found = chaosViolations(twice).join('\n');
    assert.match(found, /event 1\.0: 2 successful hook executions/);
    assert.match(found, /event 2\.0: 0 successful hook executions/);
  });

  it('holds a chat agent\'s texts to the rules of a key\'s log', () => {
    const say = (value: string, sentAt: number, settledAt: number, outcome: WriteRecord['outcome'] = 'acked'): WriteRecord => ({ ...write(value, sentAt, settledAt, outcome), scope: 'agent:c0', key: '(machine)' });
    const says = [say('s0', 0, 10), say('s1', 20, 30), say('s2', 40, 50, 'refused'), say('s3', 60, 70, 'unknown')];
    const texts = (by: Record<string, string[]>) => new Map(Object.entries(by).map(([owner, list]) => [owner, new Map([['agent:c0', list]])]));
    const check = (by: Record<string, string[]>) => chaosViolations(recordOf([a], ['a'], { says, chatTexts: texts(by) })).join('\n');
    assert.equal(check({ p0: ['s0', 's1'], p1: ['s0', 's1'] }), '');
    assert.equal(check({ p0: ['s0', 's1', 's3'] }), '');
    assert.match(check({ p0: ['s0'] }), /acknowledged message s1 \(by p0\) is not in the machine's context/);
    assert.match(check({ p0: ['s0', 's1', 's2'] }), /s2 was refused \(LEASE_LOST\) by p0, and the machine holds it/);
    assert.match(check({ p0: ['s1', 's0'] }), /s0 was answered before s1 was sent, and is held after it/);
    assert.match(check({ p0: ['s0', 's0', 's1'] }), /holds s0 twice/);
    assert.match(check({ p0: ['s0', 's1'], p1: ['s0'] }), /the processes read different texts at the end/);
  });

  it('finds a failure told with no error code', () => {
    const { code: _code, ...uncoded } = write('u', 40, 50, 'refused');
    assert.match(chaosViolations(recordOf([a, { ...uncoded, message: 'boom' }], ['a'])).join('\n'), /u by p0 failed with no error code: boom/);
  });
});

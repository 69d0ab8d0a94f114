import assert from 'node:assert/strict';
import type { CommitScheduler } from '../../actors/CommitScheduler.js';
import { SystemEventLog } from '../../actors/SystemEventLog.js';
import type { EventSpec } from '../../src/events/eventLog.js';
import type { LeaseHold } from '../../src/storage/index.js';

describe('the system event log', () => {
  function log(): SystemEventLog {
    const scheduler = { enqueue: () => {} } as unknown as CommitScheduler;
    return new SystemEventLog(scheduler);
  }
  const kinds = (group: ReturnType<SystemEventLog['takeGroup']>) => group?.units.map((unit) => unit.events?.[0]?.kind);
  // The log passes events on as they are: their kinds and data are not looked at here.
  const event = (kind: string) => [{ kind, data: {} }] as unknown as EventSpec[];

  it('commits events fenced by a lease in groups of their own, so that a lost lease refuses no other event', async () => {
    const systemLog = log();
    const fence: LeaseHold[] = [{ resource: 'llmstate:migration', owner: 'b', epoch: 1 }];
    void systemLog.append(event('supervisor.restarted'), undefined);
    const refused = Promise.allSettled([
      systemLog.append(event('migration.started'), undefined, undefined, fence),
      systemLog.append(event('migration.completed'), undefined, undefined, fence),
    ]);
    void systemLog.append(event('fault.injected'), undefined);

    const first = systemLog.takeGroup();
    assert.deepEqual(kinds(first), ['supervisor.restarted']);
    assert.equal(first?.fence, undefined);
    assert.equal(systemLog.takeGroup(), undefined, 'one group at a time');
    systemLog.groupCommitted(first!);

    const fenced = systemLog.takeGroup();
    assert.deepEqual(kinds(fenced), ['migration.started', 'migration.completed']);
    assert.equal(fenced?.fence, fence);
    systemLog.groupFailed(fenced!, new Error('LEASE_LOST'));
    assert.deepEqual((await refused).map((outcome) => outcome.status), ['rejected', 'rejected']);

    const last = systemLog.takeGroup();
    assert.deepEqual(kinds(last), ['fault.injected']);
    assert.equal(last?.fence, undefined);
  });
});

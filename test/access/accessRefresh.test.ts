import assert from 'node:assert/strict';
import { AccessControl } from '../../src/access/AccessControl.js';
import type { AuditLog } from '../../src/access/AuditLog.js';
import { grantChange, quarantineChange } from '../../src/access/ChangesInFlight.js';
import { grantKey, putGrant, putQuarantine, quarantineKey, type Grant, type Quarantine } from '../../src/access/grantRecords.js';
import { createMemoryBackend } from '../../src/storage/LevelBackend.js';
import type { StorageBackend } from '../../src/storage/StorageBackend.js';

// AccessControl.refresh brings what another process changed into memory (docs/scale-out.md,
// "Administration across processes"). Here the other process is played by batches written straight to the store.

const grant = (id: string, principal = 'agent:ada'): Grant => ({ id, principal, scope: 'agent:bob', permissions: ['read'], grantedBy: 'system', createdAt: 1 });
const quarantine = (agentId: string): Quarantine => ({ agentId, by: 'system', at: 1 });

describe('access: refreshing what another process changed', () => {
  let storage: StorageBackend;
  let control: AccessControl;
  let cutOff: string[];

  beforeEach(async () => {
    storage = createMemoryBackend();
    await storage.open();
    cutOff = [];
    control = new AccessControl({
      storage,
      now: () => 2,
      audit: {} as AuditLog,
      recordEvents: async () => {},
      sessionAccess: () => undefined,
      reportError: (error) => assert.fail(String(error)),
      quarantinedElsewhere: (found) => cutOff.push(found.agentId),
    });
    await control.load();
  });
  afterEach(() => storage.close());

  it('reads the keys announced: a grant added and one removed, a quarantine that cuts the agent off once', async () => {
    await storage.batch([putGrant(grant('g1')), putGrant(grant('g2'))]);
    await control.refresh([grantKey('g1'), grantKey('g2')]);
    assert.deepEqual(control.policy.grants.all().map((each) => each.id).sort(), ['g1', 'g2']);

    await storage.batch([{ type: 'del', sublevel: 'access', key: grantKey('g1') }, putQuarantine(quarantine('eve'))]);
    await control.refresh([grantKey('g1'), quarantineKey('eve')]);
    assert.deepEqual(control.policy.grants.all().map((each) => each.id), ['g2']);
    assert.deepEqual([...control.policy.quarantines.keys()], ['eve']);
    await control.refresh([quarantineKey('eve')]);
    assert.deepEqual(cutOff, ['eve'], 'a quarantine already known is not cut off again');

    await storage.batch([{ type: 'del', sublevel: 'access', key: quarantineKey('eve') }]);
    await control.refresh('all');
    assert.deepEqual([...control.policy.quarantines.keys()], []);
    assert.deepEqual(control.policy.grants.all().map((each) => each.id), ['g2']);
  });

  it('a whole refresh removes what the store no longer holds and adds what it holds', async () => {
    control.policy.grants.add(grant('gone'));
    control.policy.quarantines.set('gone', quarantine('gone'));
    await storage.batch([putGrant(grant('new', 'agent:eve')), putQuarantine(quarantine('mallory'))]);
    await control.refresh('all');
    assert.deepEqual(control.policy.grants.all().map((each) => each.id), ['new']);
    assert.deepEqual([...control.policy.quarantines.keys()], ['mallory']);
    assert.deepEqual(cutOff, ['mallory']);
  });

  it('never undoes a change of this process made while it read, and takes in the rest of what it read', async () => {
    // The refresh's read is held until this process's own grant has committed and been applied.
    let releaseRead!: () => void;
    const readHeld = new Promise<void>((resolve) => (releaseRead = resolve));
    let reading!: () => void;
    const readStarted = new Promise<void>((resolve) => (reading = resolve));
    const iterate = storage.iterate.bind(storage);
    storage.iterate = async function* (...args: Parameters<StorageBackend['iterate']>) {
      const entries = [];
      for await (const entry of iterate(...args)) entries.push(entry);
      reading();
      await readHeld;
      yield* entries;
    };
    await storage.batch([putGrant(grant('theirs'))]);
    const refreshed = control.refresh('all');
    await readStarted;

    const settled = control.changes.begin([grantChange('mine')]);
    await storage.batch([putGrant(grant('mine'))]);
    control.policy.grants.add(grant('mine'));
    settled();
    releaseRead();

    await refreshed;
    assert.deepEqual(control.policy.grants.all().map((each) => each.id).sort(), ['mine', 'theirs']);
  });

  it('keeps a quarantine this process could not record, which the store does not hold', async () => {
    control.policy.quarantines.set('bob', quarantine('bob'));
    control.unrecordedQuarantines.add('bob');
    await control.refresh([quarantineKey('bob')]);
    await control.refresh('all');
    assert.ok(control.policy.quarantines.has('bob'));
    await storage.batch([putQuarantine(quarantine('bob'))]);
    await control.refresh([quarantineKey('bob')]);
    assert.equal(control.unrecordedQuarantines.size, 0, 'recorded after all, by another process');
  });

  it('leaves alone a quarantine under way (in force before it commits) that it read no record of', async () => {
    const settled = control.changes.begin([quarantineChange('bob')]);
    control.policy.quarantines.set('bob', quarantine('bob'));
    const refreshed = control.refresh([quarantineKey('bob')]);
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.ok(control.policy.quarantines.has('bob'), 'the refresh did not drop the quarantine that is not committed yet');
    await storage.batch([putQuarantine(quarantine('bob'))]);
    settled();
    await refreshed;
    assert.ok(control.policy.quarantines.has('bob'));
    assert.deepEqual(cutOff, []);
  });
});

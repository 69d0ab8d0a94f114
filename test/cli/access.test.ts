import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createRuntime, Scope, type AccessDecision, type AuditRecord, type Grant, type Quarantine } from '../../src/index.js';
import { assertBuilt, assertFails, assertPlain, assertSucceeds, inDir, removeTempDirs, tempDir } from './runCli.js';

const HOUR = 3_600_000;

interface Seeded {
  /** agent:ada reads agent:bob, until an hour from now. */
  bobRead: Grant;
  /** agent:ada reads and writes workflow:report-*, with steps. */
  reports: Grant;
  /** agent:cy's read of global, which ended an hour ago. */
  expired: Grant;
}

/**
 * A store with three grants (one expired), one refusal on record (ada reading bob's notes before her
 * grant) and one record of two allowed decisions (ada reading bob's notes through it), then closed.
 */
async function seed(dataDir: string): Promise<Seeded> {
  let offset = -2 * HOUR;
  const rt = await createRuntime({ dataDir, clock: { now: () => Date.now() + offset } });
  try {
    const expired = await rt.access.grant({ principal: 'agent:cy', scope: Scope.global(), permissions: ['read'], expiresAt: Date.now() - HOUR });
    offset = 0;
    await rt.state.set(Scope.agent('bob'), 'notes', ['draft']);
    const ada = rt.as('agent:ada');
    await assert.rejects(ada.state.get(Scope.agent('bob'), 'notes'), { code: 'ACCESS_DENIED' });
    const bobRead = await rt.access.grant({ principal: 'agent:ada', scope: Scope.agent('bob'), permissions: ['read', 'list'], expiresAt: Date.now() + HOUR });
    const reports = await rt.access.grant({ principal: 'agent:ada', scopePattern: 'workflow:report-*', permissions: ['read', 'write'], includeSteps: true });
    // Read twice in one turn: one audit record that counts two decisions.
    assert.deepEqual(await Promise.all([ada.state.get(Scope.agent('bob'), 'notes'), ada.state.get(Scope.agent('bob'), 'notes')]), [['draft'], ['draft']]);
    return JSON.parse(JSON.stringify({ bobRead, reports, expired })) as Seeded;
  } finally {
    await rt.close();
  }
}

/** What the store holds once the command line is done, through the API. */
async function readBack(dataDir: string): Promise<{ grants: Grant[]; quarantined: Quarantine[] }> {
  const rt = await createRuntime({ dataDir });
  try {
    return { grants: rt.access.grants({ includeExpired: true }), quarantined: rt.access.quarantined() };
  } finally {
    await rt.close();
  }
}

function lines(stdout: string): string[] {
  return stdout.trimEnd().split('\n');
}

describe('llmstate access and audit', function () {
  this.timeout(120_000);
  before(assertBuilt);
  let dir: string;
  let seeded: Seeded;
  beforeEach(async () => {
    dir = join(tempDir('llmstate-access-cli-'), 'data');
    seeded = await seed(dir);
  });
  afterEach(() => removeTempDirs());

  describe('access grants', () => {
    it('prints the grants in force, oldest first; --all adds the expired one; --json prints what rt.access.grants() returns', async () => {
      const table = await inDir(dir, 'access', 'grants');
      assertSucceeds(table);
      const rows = lines(table.stdout);
      assert.match(rows[0], /^id +principal +scope +permissions +steps +expires +status +granted-by$/);
      // Oldest first; the two may share a millisecond, and then their ids decide.
      const row = (id: string) => rows.find((line) => line.startsWith(`${id} `)) ?? '';
      assert.match(row(seeded.bobRead.id), /^\S+ +agent:ada +agent:bob +read,list +- +\d{4}-\d\d-\d\dT[\d:.]+Z +active +system$/);
      assert.match(row(seeded.reports.id), /^\S+ +agent:ada +workflow:report-\* +read,write +yes +never +active +system$/);
      assert.equal(rows.length, 3);

      const all = await inDir(dir, 'access', 'grants', '--all');
      assertSucceeds(all);
      assert.match(lines(all.stdout)[1], new RegExp(`^${seeded.expired.id} +agent:cy +global +read +- +\\S+ +expired +system$`));

      const json = await inDir(dir, 'access', 'grants', '--json', '--all');
      assertSucceeds(json);
      const listed = JSON.parse(json.stdout) as Grant[];
      assert.deepEqual(listed[0], seeded.expired);
      assert.deepEqual(new Set(listed.slice(1)), new Set([seeded.bobRead, seeded.reports]));
    });

    it('--principal and --scope select, a pattern covering the scope included; none matching is a note on stderr', async () => {
      const byScope = await inDir(dir, 'access', 'grants', '--scope', 'workflow:report-7', '--json');
      assertSucceeds(byScope);
      assert.deepEqual((JSON.parse(byScope.stdout) as Grant[]).map((grant) => grant.id), [seeded.reports.id]);
      const none = await inDir(dir, 'access', 'grants', '--principal', 'agent:cy');
      assertPlain(none);
      assert.equal(none.code, 0);
      assert.equal(none.stdout, '');
      assert.match(none.stderr, /^no grants in force match in /);
    });

    it('an invalid --scope is SCOPE_INVALID (exit 1), a directory without a store STORAGE_FAILED, an invalid --principal a usage error', async () => {
      assertFails(await inDir(dir, 'access', 'grants', '--scope', 'nokind:x'), 1, 'error[SCOPE_INVALID]: ');
      const missing = join(tempDir(), 'typo');
      assertFails(await inDir(missing, 'access', 'grants'), 1, 'error[STORAGE_FAILED]: There is no llmstate store');
      assert.ok(!existsSync(missing), 'no store created');
      assertFails(await inDir(dir, 'access', 'grants', '--principal', 'agent:'), 2, 'error: ');
    });
  });

  describe('access grant', () => {
    it('grants a scope or, for an argument with *, a pattern, with --expires as a duration or a time; prints the grant, or with --json the grant as rt.access.grant returns it', async () => {
      const before = Date.now();
      const text = await inDir(dir, 'access', 'grant', 'service:indexer', 'workflow:w1', 'read,list,read', '--expires', '1h', '--include-steps');
      assertSucceeds(text);
      const fields = Object.fromEntries(lines(text.stdout).map((line) => [line.slice(0, 13).trim(), line.slice(13)]));
      assert.match(fields.id, /^g_\w+$/);
      assert.deepEqual(
        { ...fields, id: '', expires: '', created: '' },
        { id: '', principal: 'service:indexer', scope: 'workflow:w1', permissions: 'read,list', steps: 'included', expires: '', 'granted by': 'system', created: '' },
      );
      const expires = Date.parse(fields.expires);
      assert.ok(expires >= before + HOUR && expires <= Date.now() + HOUR, `about an hour from now: ${fields.expires}`);

      const json = await inDir(dir, 'access', 'grant', 'agent:ada', 'session:*', 'read', '--expires', '2999-01-01T00:00:00Z', '--json');
      assertSucceeds(json);
      const grant = JSON.parse(json.stdout) as Grant;
      assert.equal(grant.scopePattern, 'session:*');
      assert.equal(grant.expiresAt, Date.parse('2999-01-01T00:00:00Z'));

      const stored = (await readBack(dir)).grants;
      assert.deepEqual(stored.find((found) => found.id === grant.id), grant);
      assert.ok(stored.some((found) => found.id === fields.id && found.includeSteps === true), 'the first grant is durable too');
    });

    it('an invalid scope is SCOPE_INVALID, exit 1, and nothing is granted', async () => {
      assertFails(await inDir(dir, 'access', 'grant', 'agent:ada', 'agent:', 'read'), 1, 'error[SCOPE_INVALID]: ');
      assert.equal((await readBack(dir)).grants.length, 3);
    });

    it('malformed grants are usage errors, found before the store is opened', async () => {
      for (const args of [
        ['agent:ada', 'agent:bob', 'read,fly'],
        ['agent:ada', 'agent:bob', ''],
        ['agent:ada', 'agent:bob', 'read', '--expires', 'soon'],
        ['agent:ada', 'agent:bob', 'read', '--expires', '2001-01-01T00:00:00Z'],
        ['agent:ada', 'agent:bob', 'read', '--include-steps'],
        ['agent:ada', 'global', 'write'],
        ['system', 'agent:bob', 'read'],
        ['agent:', 'agent:bob', 'read'],
        ['agent:ada', 'agent:bob'],
      ]) {
        assertFails(await inDir(dir, 'access', 'grant', ...args), 2, 'error: ');
      }
      assert.equal((await readBack(dir)).grants.length, 3);
    });
  });

  describe('access revoke', () => {
    it('revokes a grant, which is gone for good; a grant that does not exist is exit 1; no id is a usage error', async () => {
      const revoked = await inDir(dir, 'access', 'revoke', seeded.bobRead.id);
      assertSucceeds(revoked);
      assert.equal(revoked.stdout, `revoked ${seeded.bobRead.id}\n`);
      assert.deepEqual((await readBack(dir)).grants.map((grant) => grant.id), [seeded.expired.id, seeded.reports.id]);

      const again = await inDir(dir, 'access', 'revoke', seeded.bobRead.id);
      assertFails(again, 1, `no grant ${seeded.bobRead.id} in ${dir}; llmstate access grants --all lists them`);
      assertFails(await inDir(join(tempDir(), 'typo'), 'access', 'revoke', seeded.reports.id), 1, 'error[STORAGE_FAILED]: ');
      assertFails(await inDir(dir, 'access', 'revoke'), 2, "error: missing required argument 'grantId'");
    });
  });

  describe('access check', () => {
    it('prints the decision and exits 0 when allowed, 1 when denied, so a script can branch on it; --json prints rt.access.check()', async () => {
      const allowed = await inDir(dir, 'access', 'check', 'agent:ada', 'agent:bob', 'read');
      assertSucceeds(allowed);
      assert.equal(allowed.stdout, `allowed: grant ${seeded.bobRead.id}\n`);
      const own = await inDir(dir, 'access', 'check', 'agent:ada', 'agent:ada', 'delete');
      assert.equal(own.stdout, 'allowed: own-scope\n');

      const denied = await inDir(dir, 'access', 'check', 'agent:ada', 'agent:bob', 'write');
      assertPlain(denied);
      assert.equal(denied.code, 1);
      assert.equal(denied.stdout, 'denied: no-grant (ACCESS_DENIED)\n');
      assert.equal(denied.stderr, '');

      const json = await inDir(dir, 'access', 'check', 'agent:ada', 'workflow:report-1', 'write', '--json');
      assertSucceeds(json);
      assert.deepEqual(JSON.parse(json.stdout) as AccessDecision, { allowed: true, rule: 'grant', by: seeded.reports.id });
      const deniedJson = await inDir(dir, 'access', 'check', 'agent:cy', 'global', 'write', '--json');
      assert.equal(deniedJson.code, 1);
      assert.deepEqual(JSON.parse(deniedJson.stdout) as AccessDecision, { allowed: false, rule: 'global-write', code: 'ACCESS_DENIED' });
    });

    it('--session decides as for a principal bound to that session', async () => {
      const bound = await inDir(dir, 'access', 'check', 'agent:ada', 'session:s2', 'read', '--session', 's1');
      assert.equal(bound.code, 1);
      assert.equal(bound.stdout, 'denied: other-session (ACCESS_DENIED)\n');
    });

    it('an invalid scope is SCOPE_INVALID; an unknown operation or principal is a usage error', async () => {
      assertFails(await inDir(dir, 'access', 'check', 'agent:ada', 'bob', 'read'), 1, 'error[SCOPE_INVALID]: ');
      assertFails(await inDir(dir, 'access', 'check', 'agent:ada', 'agent:bob', 'steal'), 2, "error: command-argument value 'steal' is invalid for argument 'operation'");
      assertFails(await inDir(dir, 'access', 'check', 'agent:', 'agent:bob', 'read'), 2, 'error: ');
    });
  });

  describe('access quarantine, release and quarantined', () => {
    it('quarantine cuts an agent off, durably, with its reason; quarantined lists it; release lifts it', async () => {
      const cut = await inDir(dir, 'access', 'quarantine', 'bob', '--reason', 'prompt injection suspected');
      assertSucceeds(cut);
      assert.match(cut.stdout, /^quarantined bob since \d{4}-\d\d-\d\dT[\d:.]+Z: prompt injection suspected\n$/);
      const stored = (await readBack(dir)).quarantined;
      assert.deepEqual(stored.map(({ agentId, reason, by }) => ({ agentId, reason, by })), [{ agentId: 'bob', reason: 'prompt injection suspected', by: 'system' }]);

      const check = await inDir(dir, 'access', 'check', 'agent:ada', 'agent:bob', 'read');
      assert.equal(check.stdout, 'denied: quarantined-scope (AGENT_QUARANTINED)\n');

      const table = await inDir(dir, 'access', 'quarantined');
      assertSucceeds(table);
      assert.deepEqual(lines(table.stdout).map((line) => line.split(/ {2,}/)), [
        ['agent', 'since', 'by', 'reason'],
        ['bob', new Date(stored[0].at).toISOString(), 'system', 'prompt injection suspected'],
      ]);
      const json = await inDir(dir, 'access', 'quarantined', '--json');
      assertSucceeds(json);
      assert.deepEqual(JSON.parse(json.stdout), stored);

      const released = await inDir(dir, 'access', 'release', 'bob');
      assertSucceeds(released);
      assert.equal(released.stdout, 'released bob\n');
      assert.deepEqual((await readBack(dir)).quarantined, []);
      const empty = await inDir(dir, 'access', 'quarantined');
      assert.equal(empty.code, 0);
      assert.equal(empty.stdout, '');
      assert.equal(empty.stderr, `no agent is quarantined in ${dir}\n`);
    });

    it('quarantine --json prints the quarantine', async () => {
      const json = await inDir(dir, 'access', 'quarantine', 'cy', '--json');
      assertSucceeds(json);
      const quarantine = JSON.parse(json.stdout) as Quarantine;
      assert.deepEqual(quarantine, { agentId: 'cy', by: 'system', at: quarantine.at });
    });

    it('release of an agent that is not quarantined is exit 1; invalid agent ids are SCOPE_INVALID; bad arguments are usage errors', async () => {
      assertFails(await inDir(dir, 'access', 'release', 'bob'), 1, `agent bob is not quarantined in ${dir}; llmstate access quarantined lists those that are`);
      assertFails(await inDir(dir, 'access', 'quarantine', 'a/../b'), 1, 'error[SCOPE_INVALID]: ');
      assertFails(await inDir(dir, 'access', 'release', ''), 1, 'error[SCOPE_INVALID]: ');
      assertFails(await inDir(join(tempDir(), 'typo'), 'access', 'quarantined'), 1, 'error[STORAGE_FAILED]: ');
      assertFails(await inDir(dir, 'access', 'quarantine'), 2, "error: missing required argument 'agentId'");
      assertFails(await inDir(dir, 'access', 'quarantine', 'bob', '--reason'), 2, "error: option '--reason <text>' argument missing");
      assertFails(await inDir(dir, 'access', 'release', 'bob', 'cy'), 2, 'error: too many arguments');
      assertFails(await inDir(dir, 'access', 'quarantined', '--all'), 2, "error: unknown option '--all'");
      assert.deepEqual((await readBack(dir)).quarantined, []);
    });
  });

  describe('audit', () => {
    it('prints the decisions on record, newest first; --json prints what rt.access.audit() returns', async () => {
      const table = await inDir(dir, 'audit');
      assertSucceeds(table);
      const rows = lines(table.stdout);
      assert.match(rows[0], /^at +principal +outcome +operation +scope +key +rule +grant\/code +method +correlation +count$/);
      assert.match(rows[1], new RegExp(`^\\S+Z +agent:ada +allowed +read +agent:bob +notes +grant +${seeded.bobRead.id} +state\\.get +- +2$`));
      assert.match(rows[2], /^\S+Z +agent:ada +denied +read +agent:bob +notes +no-grant +ACCESS_DENIED +state\.get +- +1$/);
      assert.equal(rows.length, 3);

      const json = await inDir(dir, 'audit', '--json');
      assertSucceeds(json);
      const records = JSON.parse(json.stdout) as AuditRecord[];
      assert.deepEqual(
        records.map(({ outcome, rule, grantId, count }) => ({ outcome, rule, grantId, count })),
        [
          { outcome: 'allowed', rule: 'grant', grantId: seeded.bobRead.id, count: 2 },
          { outcome: 'denied', rule: 'no-grant', grantId: undefined, count: undefined },
        ],
      );
    });

    it('--principal, --scope, --outcome, --since, --until and --limit select; none matching is a note on stderr', async () => {
      const select = async (...args: string[]) => {
        const result = await inDir(dir, 'audit', '--json', ...args);
        assertSucceeds(result);
        return (JSON.parse(result.stdout) as AuditRecord[]).map((record) => record.outcome);
      };
      assert.deepEqual(await select('--outcome', 'denied'), ['denied']);
      assert.deepEqual(await select('--principal', 'agent:ada', '--scope', 'agent:bob', '--since', '1h'), ['allowed', 'denied']);
      assert.deepEqual(await select('--limit', '1'), ['allowed']);
      assert.deepEqual(await select('--principal', 'agent:bob'), []);
      assert.deepEqual(await select('--until', '1h'), []);
      assert.deepEqual(await select('--since', '2999-01-01T00:00:00Z'), []);
      const none = await inDir(dir, 'audit', '--scope', 'global');
      assertPlain(none);
      assert.equal(none.code, 0);
      assert.equal(none.stdout, '');
      assert.equal(none.stderr, `no access decision on record matches in ${dir}\n`);
    });

    it('an invalid scope is SCOPE_INVALID, no store is STORAGE_FAILED; bad filters are usage errors', async () => {
      assertFails(await inDir(dir, 'audit', '--scope', 'agent:'), 1, 'error[SCOPE_INVALID]: ');
      assertFails(await inDir(join(tempDir(), 'typo'), 'audit'), 1, 'error[STORAGE_FAILED]: ');
      for (const args of [
        ['--outcome', 'maybe'],
        ['--since', 'yesterday'],
        ['--until', '2026-13-45T00:00:00Z'],
        ['--since', '1h', '--until', '2h'],
        ['--limit', '0'],
        ['--principal', ''],
      ]) {
        assertFails(await inDir(dir, 'audit', ...args), 2, 'error: ');
      }
    });
  });
});

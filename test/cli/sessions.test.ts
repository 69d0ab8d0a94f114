import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createRuntime, Scope, type ArtifactChange, type ArtifactLink, type SessionInfo } from '../../src/index.js';
import { assertBuilt, assertFails, assertPlain, assertSucceeds, inDir, removeTempDirs, tempDir, type CliResult } from './runCli.js';

const HOUR = 3_600_000;

interface Seeded {
  s1: SessionInfo;
  /** The key link of report-7.pdf: session:s1 draft. */
  keyLink: ArtifactLink;
  /** Its correlation link, made by rt.correlate. */
  correlationLink: ArtifactLink;
  changes: ArtifactChange[];
}

/**
 * A store with sessions s1 (an hour to live, a participant, metadata, one artifact), s2 (no time to
 * live) and old (started two hours ago with an hour to live: past it, not yet collected), then closed.
 */
async function seed(dataDir: string): Promise<Seeded> {
  let offset = -2 * HOUR;
  const rt = await createRuntime({ dataDir, clock: { now: () => Date.now() + offset } });
  try {
    await rt.sessions.start({ id: 'old', ttlMs: HOUR });
    await rt.state.set(Scope.session('old'), 'left', 1);
    offset = 0;
    const s1 = await rt.sessions.start({ id: 's1', ttlMs: HOUR, metadata: { user: 'u1' }, participants: ['agent:ada'] });
    await rt.sessions.start({ id: 's2' });
    await rt.as('agent:ada').state.set(Scope.session('s1'), 'draft', { text: 'hi' }, { correlationId: 'turn-1' });
    const keyLink = await rt.sessions.linkArtifact('report-7.pdf', { sessionId: 's1', scope: Scope.session('s1'), key: 'draft', kind: 'file', metadata: { pages: 3 } });
    await rt.correlate(
      async () => {
        await rt.state.set(Scope.agent('ada'), 'outline', 1);
        await rt.state.set(Scope.agent('ada'), 'draft', 2);
      },
      { correlationId: 'job-1', artifactId: 'report-7.pdf' },
    );
    const [correlationLink] = (await rt.sessions.linksOf('report-7.pdf')).slice(1);
    return JSON.parse(JSON.stringify({ s1, keyLink, correlationLink, changes: await rt.sessions.changesByArtifact('report-7.pdf') })) as Seeded;
  } finally {
    await rt.close();
  }
}

async function sessionsOf(dataDir: string): Promise<SessionInfo[]> {
  const rt = await createRuntime({ dataDir });
  try {
    return await rt.sessions.list();
  } finally {
    await rt.close();
  }
}

function lines(stdout: string): string[] {
  return stdout.trimEnd().split('\n');
}

function assertNote(result: CliResult, code: number, stderr: string): void {
  assertPlain(result);
  assert.equal(result.code, code, `exit code; stderr: ${result.stderr}`);
  assert.equal(result.stdout, '');
  assert.equal(result.stderr, `${stderr}\n`);
}

describe('llmstate sessions and artifacts', function () {
  this.timeout(120_000);
  before(assertBuilt);
  let dir: string;
  let seeded: Seeded;
  beforeEach(async () => {
    dir = join(tempDir('llmstate-sessions-cli-'), 'data');
    seeded = await seed(dir);
  });
  afterEach(() => removeTempDirs());

  describe('sessions list', () => {
    it('prints every session in id order, the one past its time to live collected at open; --json prints what rt.sessions.list() returns', async () => {
      const table = await inDir(dir, 'sessions', 'list');
      assertSucceeds(table);
      const rows = lines(table.stdout);
      assert.match(rows[0], /^id +status +started +expires +ended +collected +started-by +participants +metadata$/);
      assert.match(rows[1], /^old +expired +\S+Z +\S+Z +- +\d{4}-\d\d-\d\dT[\d:.]+Z +system +-$/);
      assert.match(rows[2], /^s1 +active +\S+Z +\S+Z +- +- +system +agent:ada +\{"user":"u1"\}$/);
      assert.match(rows[3], /^s2 +active +\S+Z +never +- +- +system +-$/);
      assert.equal(rows.length, 4);

      const json = await inDir(dir, 'sessions', 'list', '--json');
      assertSucceeds(json);
      const listed = JSON.parse(json.stdout) as SessionInfo[];
      assert.deepEqual(listed, await sessionsOf(dir));
      assert.deepEqual(listed[1], seeded.s1);
      assert.deepEqual(listed[0].collected?.reason, 'ttl');
    });

    it('--status selects; none of it is a note on stderr; an unknown status is a usage error; no store is STORAGE_FAILED', async () => {
      const active = await inDir(dir, 'sessions', 'list', '--status', 'active', '--json');
      assertSucceeds(active);
      assert.deepEqual((JSON.parse(active.stdout) as SessionInfo[]).map((session) => session.id), ['s1', 's2']);
      assertNote(await inDir(dir, 'sessions', 'list', '--status', 'ended'), 0, `no ended sessions in ${dir}`);
      assertFails(await inDir(dir, 'sessions', 'list', '--status', 'open'), 2, "error: option '--status <status>' argument 'open' is invalid");
      assertFails(await inDir(join(tempDir(), 'typo'), 'sessions', 'list'), 1, 'error[STORAGE_FAILED]: There is no llmstate store');
    });
  });

  describe('sessions show', () => {
    it('prints the session and its artifacts; --json prints { session, artifacts }', async () => {
      const text = await inDir(dir, 'sessions', 'show', 's1');
      assertSucceeds(text);
      const shown = lines(text.stdout);
      assert.deepEqual(shown.slice(0, 6), [
        's1',
        'active',
        `${new Date(seeded.s1.startedAt).toISOString()} by system`,
        new Date(seeded.s1.expiresAt!).toISOString(),
        'agent:ada',
        '{"user":"u1"}',
      ].map((value, i) => `${['id', 'status', 'started', 'expires', 'participants', 'metadata'][i].padEnd(14)}${value}`));
      assert.equal(shown[7], 'artifacts (1)');
      assert.match(shown[8], /^ {2}artifact +linked +kind +session +scope +key +change +correlation +metadata$/);
      assert.match(shown[9], new RegExp(`^ {2}report-7\\.pdf +\\S+Z +file +s1 +session:s1 +draft +${seeded.keyLink.change!.eventId!.replace('.', '\\.')} +turn-1 +\\{"pages":3\\}$`));

      const json = await inDir(dir, 'sessions', 'show', 's1', '--json');
      assertSucceeds(json);
      assert.deepEqual(JSON.parse(json.stdout), { session: seeded.s1, artifacts: [seeded.keyLink] });
    });

    it('a collected session shows when and why; one without artifacts says so', async () => {
      const text = await inDir(dir, 'sessions', 'show', 'old');
      assertSucceeds(text);
      assert.match(text.stdout, /^collected +\S+Z: 1 key cleared, as its time to live had passed$/m);
      assert.match(text.stdout, /^artifacts \(0\)\n {2}none linked\n$/m);
    });

    it('an unknown session is exit 1, an invalid id SCOPE_INVALID, a missing id a usage error', async () => {
      assertNote(await inDir(dir, 'sessions', 'show', 'nope'), 1, `no session nope in ${dir}; llmstate sessions list shows them`);
      assertFails(await inDir(dir, 'sessions', 'show', 'a/../b'), 1, 'error[SCOPE_INVALID]: ');
      assertFails(await inDir(dir, 'sessions', 'show'), 2, "error: missing required argument 'id'");
    });
  });

  describe('sessions end', () => {
    it('ends a session, keeping its state; ending it again says when it ended', async () => {
      const ended = await inDir(dir, 'sessions', 'end', 's1');
      assertSucceeds(ended);
      assert.equal(ended.stdout, 'ended s1\n');
      const s1 = (await sessionsOf(dir)).find((session) => session.id === 's1')!;
      assert.equal(s1.status, 'ended');
      assert.equal(s1.collected, undefined, 'its state is kept until it is collected');
      const again = await inDir(dir, 'sessions', 'end', 's1');
      assertSucceeds(again);
      assert.equal(again.stdout, `session s1 had already ended at ${new Date(s1.endedAt!).toISOString()}\n`);
    });

    it('an unknown or expired session is exit 1; an invalid id SCOPE_INVALID; extra arguments a usage error', async () => {
      assertNote(await inDir(dir, 'sessions', 'end', 'nope'), 1, `no session nope in ${dir}; llmstate sessions list shows them`);
      const old = await inDir(dir, 'sessions', 'end', 'old');
      assertPlain(old);
      assert.equal(old.code, 1);
      assert.match(old.stderr, /^session old was collected at \S+Z; only an active session can be ended\n$/);
      assertFails(await inDir(dir, 'sessions', 'end', ''), 1, 'error[SCOPE_INVALID]: ');
      assertFails(await inDir(dir, 'sessions', 'end', 's1', 's2'), 2, 'error: too many arguments');
      assert.equal((await sessionsOf(dir)).find((session) => session.id === 's1')?.status, 'active');
    });
  });

  describe('sessions gc', () => {
    it('reports the sessions collected past their time to live, at open included; --ended collects ended ones; --json prints { collected }', async () => {
      const first = await inDir(dir, 'sessions', 'gc');
      assertSucceeds(first);
      assert.equal(first.stdout, 'collected old\n');
      assertSucceeds(await inDir(dir, 'sessions', 'end', 's2'));
      const none = await inDir(dir, 'sessions', 'gc', '--json');
      assertSucceeds(none);
      assert.deepEqual(JSON.parse(none.stdout), { collected: [] });
      const ended = await inDir(dir, 'sessions', 'gc', '--ended', '--json');
      assertSucceeds(ended);
      assert.deepEqual(JSON.parse(ended.stdout), { collected: ['s2'] });
      assert.equal((await inDir(dir, 'sessions', 'gc')).stdout, 'no session to collect\n');
      assert.deepEqual((await sessionsOf(dir)).map((session) => [session.id, session.collected?.reason]), [
        ['old', 'ttl'],
        ['s1', undefined],
        ['s2', 'ended'],
      ]);
    });

    it('no store is STORAGE_FAILED; an unknown option a usage error', async () => {
      assertFails(await inDir(join(tempDir(), 'typo'), 'sessions', 'gc'), 1, 'error[STORAGE_FAILED]: ');
      assertFails(await inDir(dir, 'sessions', 'gc', '--all'), 2, "error: unknown option '--all'");
    });
  });

  describe('artifacts show', () => {
    it('prints the links and the changes that produced the artifact, in log order; --json prints { artifactId, links, changes }', async () => {
      const text = await inDir(dir, 'artifacts', 'show', 'report-7.pdf');
      assertSucceeds(text);
      const shown = lines(text.stdout);
      assert.equal(shown[0], 'artifact  report-7.pdf');
      assert.equal(shown[2], 'links (2)');
      assert.match(shown[4], /^ {2}\S+Z +file +s1 +session:s1 +draft +\d+\.\d+ +turn-1 +\{"pages":3\}$/);
      assert.match(shown[5], /^ {2}\S+Z +- +- +- +- +- +job-1$/);
      assert.equal(shown[7], 'changes (3)');
      assert.match(shown[8], /^ {2}event +at +kind +scope +key +correlation$/);
      assert.deepEqual(
        shown.slice(9).map((line) => line.trim().split(/ +/)),
        seeded.changes.map((change) => [change.eventId, new Date(change.at).toISOString(), change.kind, change.scope, change.key, change.correlationId]),
      );
      assert.deepEqual(seeded.changes.map((change) => `${change.scope} ${change.key}`), ['session:s1 draft', 'agent:ada outline', 'agent:ada draft']);

      const json = await inDir(dir, 'artifacts', 'show', 'report-7.pdf', '--json');
      assertSucceeds(json);
      assert.deepEqual(JSON.parse(json.stdout), { artifactId: 'report-7.pdf', links: [seeded.keyLink, seeded.correlationLink], changes: seeded.changes });
    });

    it('an artifact nothing is linked to is exit 1; no store STORAGE_FAILED; an invalid id a usage error', async () => {
      assertNote(await inDir(dir, 'artifacts', 'show', 'report-8.pdf'), 1, `no artifact report-8.pdf is linked in ${dir}`);
      assertFails(await inDir(join(tempDir(), 'typo'), 'artifacts', 'show', 'report-7.pdf'), 1, 'error[STORAGE_FAILED]: ');
      assertFails(await inDir(dir, 'artifacts', 'show', ''), 2, "error: command-argument value '' is invalid for argument 'id'. Expected `artifactId`");
      assertFails(await inDir(dir, 'artifacts', 'show', 'x'.repeat(1025)), 2, 'error: ');
    });
  });
});

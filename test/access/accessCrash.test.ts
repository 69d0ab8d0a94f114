import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Scope, verifyStore } from '../../src/index.js';
import { RuntimeFixture } from '../helpers.js';

const child = fileURLToPath(new URL('../fixtures/accessCrashChild.ts', import.meta.url));
const root = fileURLToPath(new URL('../..', import.meta.url));

interface Acks {
  grants: Map<string, number>;
  revoked: Set<string>;
  quarantined: string[];
  sessions: string[];
  lines: number;
}

/** Runs the child until it has acknowledged `killAfter` operations, then SIGKILLs it. */
function runAndKill(dataDir: string, start: number, killAfter: number): Promise<Acks> {
  return new Promise((resolve, reject) => {
    const process_ = spawn(process.execPath, ['--import', 'tsx', child, dataDir, String(start)], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    const acks: Acks = { grants: new Map(), revoked: new Set(), quarantined: [], sessions: [], lines: 0 };
    let stderr = '';
    process_.stderr.on('data', (chunk) => (stderr += chunk));
    createInterface({ input: process_.stdout }).on('line', (line) => {
      const [kind, a, b] = line.split(' ');
      if (kind === 'grant') acks.grants.set(a, Number(b));
      else if (kind === 'revoked') acks.revoked.add(a);
      else if (kind === 'quarantined') acks.quarantined.push(a);
      else if (kind === 'session') acks.sessions.push(a);
      else return;
      if (++acks.lines === killAfter) process_.kill('SIGKILL');
    });
    process_.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(acks);
      else reject(new Error(`the child exited with ${code} before it was killed: ${stderr}`));
    });
  });
}

describe('crash: access and sessions killed with SIGKILL', function () {
  this.timeout(180_000);
  let fixture: RuntimeFixture;

  beforeEach(() => {
    fixture = new RuntimeFixture('access-crash');
  });
  afterEach(() => fixture.dispose());

  it('keeps every acknowledged grant, revoke, quarantine and session, and a sound store, across kills', async () => {
    let start = 0;
    for (const killAfter of [7, 23, 41]) {
      const acks = await runAndKill(fixture.dir, start, killAfter);
      assert.equal((await verifyStore({ dataDir: fixture.dir })).ok, true, 'the store verifies after the kill');
      const rt = await fixture.open();
      try {
        const grants = new Map(rt.access.grants({ includeExpired: true }).map((grant) => [grant.id, grant]));
        for (const [id, n] of acks.grants) {
          if (acks.revoked.has(id)) {
            assert.equal(grants.has(id), false, `revoked grant ${id} is gone`);
            assert.equal(rt.access.check(`agent:h${n}`, Scope.workflow(`w${n}`), 'read').allowed, false, 'and so is what was passed on under it');
          } else assert.equal(grants.get(id)?.principal, `agent:g${n}`, `acknowledged grant ${id} is there`);
        }
        const quarantined = new Set(rt.access.quarantined().map((quarantine) => quarantine.agentId));
        for (const agent of acks.quarantined) assert.ok(quarantined.has(agent), `${agent} is still quarantined`);
        for (const id of acks.sessions) {
          // A time to live of 1 ms: the open collects it, whole: its record says so and its state is gone.
          assert.equal((await rt.sessions.get(id))?.collected?.reason, 'ttl', `session ${id} was collected`);
          assert.deepEqual(await rt.state.listKeys(Scope.session(id)), []);
        }
        start += 1000;
      } finally {
        await rt.close();
      }
    }
  });
});

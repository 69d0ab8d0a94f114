import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { tempDir } from './helpers.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const examples = fileURLToPath(new URL('../examples/', import.meta.url));

/** What each example must print, so that a broken example fails here. */
const expected: Record<string, RegExp[]> = {
  'access.ts': [
    /^ada reads bob: ACCESS_DENIED$/m,
    /^bob shares his scope: read for agent:ada \(by agent:bob\)$/m,
    /^ada reads bob: \{"step":1\}$/m,
    /^ada writes bob: ACCESS_DENIED$/m,
    /^check: \{"allowed":false,"rule":"no-grant","code":"ACCESS_DENIED"\}$/m,
    /^audit: denied write agent:bob by no-grant\naudit: allowed read agent:bob by grant\naudit: denied read agent:bob by no-grant$/m,
    /^bob writes his own scope: AGENT_QUARANTINED$/m,
    /^after a restart, system reads bob: AGENT_QUARANTINED$/m,
    /^released, bob plans: \{"step":1\}$/m,
  ],
  'hooks.ts': [
    /^summary: \{"topic":"weather","by":"summarise"\}$/m,
    /^history: succeeded, attempt 1, apiKey recorded as \[REDACTED\]$/m,
    /^replay equal: true$/m,
    /^what if: replace \/result\/actions\/0\/value\/topic$/m,
    /^timeline \S+: 2 events, 1 hook execution$/m,
    /^   └─ hook summarise attempt 1 succeeded/m,
    /^      └─ \S+ state\.set agent:a1 summary/m,
  ],
  'simulation.ts': [
    /^1\. found: check failed in the body: lost update \(seed 7\)$/m,
    /^ {3}\d+ a: get global "n" → none$/m,
    /^ {3}\d+ b: get global "n" → none$/m,
    /^ {3}replay gives the same trace: true$/m,
    /^1\. fixed: 500 runs with store faults pass$/m,
    /^2\. every change reached the hook in 100 runs, through [1-9]\d* worker deaths$/m,
    /^3\. the conversation survived [1-9]\d* restarts in 100 runs$/m,
  ],
  'backups.ts': [
    /^full backup: \d+ records, brotli, seq \d+$/m,
    /^incremental backup on the full one: \d+ records$/m,
    /^verified: 2 files$/m,
    /^dry run: agent:ada \+1$/m,
    /^ada after a restore of her scope: \["sulfides conduct best","oxides are stable"\]$/m,
    /^bob as of seq \d+: v1$/m,
    /^recovered from the file alone: v2$/m,
  ],
  'migration.ts': [
    /^refused: SCHEMA_INVALID$/m,
    /^1\.0\.0 → 2\.0\.0 is breaking: .*renamed\? .*name/m,
    /^check: ok=true, 2 records to migrate$/m,
    /^plan: 2 at 1\.0\.0 via 1\.0\.0→2\.0\.0$/m,
    /^dry run: 2 would change, e\.g\. \{"name":"Ada Lovelace","age":"36"\} → \{"age":36,"fullName":"Ada Lovelace","tags":\[\]\}$/m,
    /^migrated 2 records after backup taken$/m,
    /^ada now: \{"age":36,"fullName":"Ada Lovelace","tags":\[\]\}$/m,
  ],
  'sessions.ts': [
    /^started visit-1, expires 2026-01-01T10:00:00\.000Z$/m,
    /^report-7\.pdf came from: session:visit-1 outline, agent:ada notes \(same correlation: true\)$/m,
    /^artifacts of agent:ada: report-7\.pdf$/m,
    /^artifacts of the session: report-7\.pdf, question\.txt$/m,
    /^ended; keys kept: outline, question$/m,
    /^after the restart: expired, 2 keys cleared \(ttl\), keys left: 0$/m,
    /^markers: session\.started, session\.ended, session\.expired$/m,
  ],
  'langgraph.ts': [
    /^child: stopped at \{"question":"Publish 2 notes\?"\}$/m,
    /^child ended by SIGKILL$/m,
    /^before: next approve, asking \{"question":"Publish 2 notes\?"\}, notes \["sulfides conduct best","oxides are stable"\]$/m,
    /^after: approved by ada, notes \["sulfides conduct best","oxides are stable","published"\], next none$/m,
    /^memory: \{"topic":"sulfides","notes":2\}$/m,
    /^ {2}langgraph\.checkpoint step -1 \(input\)\n {2}langgraph\.writes topic, branch:to:research\n {2}langgraph\.checkpoint step 0 \(loop\)$/m,
    /^ {2}langgraph\.writes __interrupt__\n {2}langgraph\.writes __resume__\n/m,
    /^ {2}langgraph\.checkpoint step 3 \(loop\)$/m,
    /^hook: latest \{"step":3,"source":"loop"\}, thread at step 3$/m,
  ],
  'quickstart.ts': [/^topic: \{"name":"weather"\}$/m, /^turns: 1$/m, /^keys: last, topic, turns$/m, /^rejected: STATE_KEY_INVALID$/m],
};

describe('examples', () => {
  const files = readdirSync(examples).filter((name) => name.endsWith('.ts'));

  it('every example has its expected output listed here', () => {
    assert.deepEqual(files.sort(), Object.keys(expected).sort());
  });

  for (const file of files) {
    it(`examples/${file} runs and prints what it should`, async () => {
      const { dir, cleanup } = tempDir('example');
      try {
        const { stdout } = await run(process.execPath, ['--import', 'tsx', `${examples}${file}`, dir], { cwd: root });
        for (const pattern of expected[file] ?? []) assert.match(stdout, pattern);
      } finally {
        cleanup();
      }
    });
  }
});

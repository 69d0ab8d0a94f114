import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { createRuntime, Scope, steps } from '../../src/index.js';
import { shellQuote } from '../../src/cli/output.js';
import { PROFILE_1, PROFILE_2, tagAdults } from '../fixtures/schemas/profileSchemas.mjs';
import { assertBuilt, assertFails, assertSucceeds, childEnv, CLI, llmstate, removeTempDirs, tempDir, type CliResult } from './runCli.js';

const PROFILE_MODULE = fileURLToPath(new URL('../fixtures/schemas/profile.mjs', import.meta.url));

const PEOPLE: Array<[string, { name: string; age: string }]> = [
  ['a1', { name: 'Ada', age: '36' }],
  ['a2', { name: 'Bob', age: '12' }],
  ['a3', { name: 'Cy', age: '40' }],
];

function run(dataDir: string, ...args: string[]): Promise<CliResult> {
  return llmstate(['--data-dir', dataDir, ...args]);
}

/** With the application's schemas module, whose custom step the migration needs. */
function runWithCode(dataDir: string, ...args: string[]): Promise<CliResult> {
  return llmstate(['--data-dir', dataDir, '--schemas', PROFILE_MODULE, ...args]);
}

interface SeedOptions {
  /** More profiles, written under 1.0.0 like the others. */
  extra?: Array<[string, { name: string; age: string }]>;
  /** Register profile 3.0.0 too, with no migration to it. */
  unreachable?: boolean;
}

/**
 * A store where three agents' `profile` records were written under profile 1.0.0, then 2.0.0 was
 * registered with the migration to it (its last step is code the CLI has only with --schemas). The
 * `notes` key is bound to no schema.
 */
async function seed(dataDir: string, options: SeedOptions = {}): Promise<void> {
  const rt = await createRuntime({ dataDir });
  try {
    await rt.schemas.register({ name: 'profile', version: '1.0.0', schema: PROFILE_1 });
    await rt.schemas.bind('profile', { scopeKind: 'agent', keyPrefix: 'profile' });
    for (const [id, profile] of [...PEOPLE, ...(options.extra ?? [])]) await rt.state.set(Scope.agent(id), 'profile', profile);
    await rt.state.set(Scope.agent('a1'), 'notes', 'free text');
    await rt.schemas.register({ name: 'profile', version: '2.0.0', schema: PROFILE_2 });
    await rt.migrations.define({ schema: 'profile', from: '1.0.0', to: '2.0.0', steps: [steps.renameField('name', 'fullName'), steps.convert('age', 'number'), steps.custom(tagAdults)] });
    if (options.unreachable === true) {
      await rt.schemas.register({ name: 'profile', version: '3.0.0', schema: z.object({ fullName: z.string(), age: z.number(), tags: z.array(z.string()), email: z.string() }) });
    }
  } finally {
    await rt.close();
  }
}

/** The stored profiles, by agent id. */
async function profiles(dataDir: string): Promise<Record<string, unknown>> {
  const rt = await createRuntime({ dataDir });
  try {
    const found: Record<string, unknown> = {};
    for (const [id] of PEOPLE) found[id] = await rt.state.get(Scope.agent(id), 'profile');
    return found;
  } finally {
    await rt.close();
  }
}

const BEFORE = Object.fromEntries(PEOPLE);
const AFTER = {
  a1: { fullName: 'Ada', age: 36, tags: ['adult'] },
  a2: { fullName: 'Bob', age: 12, tags: [] },
  a3: { fullName: 'Cy', age: 40, tags: ['adult'] },
};

/** Runs llmstate under `script`, on a pseudo-terminal: stdout and stderr are both the terminal. */
function onTerminal(args: readonly string[]): Promise<{ code: number; output: string }> {
  const command = [process.execPath, CLI, ...args].map(shellQuote).join(' ');
  return new Promise((resolve, reject) => {
    execFile('script', ['-qec', command, '/dev/null'], { env: childEnv() }, (error, stdout) => {
      if (error !== null && typeof error.code !== 'number') return reject(error);
      resolve({ code: error === null ? 0 : (error.code as number), output: stdout });
    });
  });
}

describe('llmstate migrate', function () {
  this.timeout(180_000);
  before(assertBuilt);
  let dir: string;
  beforeEach(() => (dir = join(tempDir('llmstate-migrate-cli-'), 'data')));
  afterEach(() => removeTempDirs());

  describe('plan', () => {
    it('prints the records by version and the chain that takes them to the newest; --json prints the plan', async () => {
      await seed(dir);
      const text = await run(dir, 'migrate', 'plan', 'profile');
      assertSucceeds(text);
      const lines = text.stdout.trimEnd().split('\n');
      assert.equal(lines[0], 'profile → 2.0.0: 3 records, 0 at 2.0.0 already, 3 to migrate');
      assert.equal(lines[1], '  from 1.0.0, 3 records: 1.0.0 → 2.0.0');
      assert.match(lines[2], /^ {4}1\.0\.0 → 2\.0\.0: renameField.*, convert.*, custom.*tagAdults/);
      assert.equal(lines.length, 3);

      const json = await run(dir, 'migrate', 'plan', 'profile', '--json');
      assertSucceeds(json);
      const plan = JSON.parse(json.stdout) as { schema: string; to: string; records: number; current: number; byVersion: Record<string, number>; chains: Array<{ from: string; records: number }> };
      assert.deepEqual(
        { schema: plan.schema, to: plan.to, records: plan.records, current: plan.current, byVersion: plan.byVersion },
        { schema: 'profile', to: '2.0.0', records: 3, current: 0, byVersion: { '1.0.0': 3 } },
      );
      assert.deepEqual(plan.chains.map(({ from, records }) => ({ from, records })), [{ from: '1.0.0', records: 3 }]);
    });

    it('without a schema plans every bound schema; --json prints the plans and the failures', async () => {
      await seed(dir);
      const text = await run(dir, 'migrate', 'plan');
      assertSucceeds(text);
      assert.match(text.stdout, /^profile → 2\.0\.0: 3 records/);
      const json = await run(dir, 'migrate', 'plan', '--json');
      assertSucceeds(json);
      const report = JSON.parse(json.stdout) as { plans: Array<{ schema: string }>; failures: unknown[] };
      assert.deepEqual(report.plans.map(({ schema }) => schema), ['profile']);
      assert.deepEqual(report.failures, []);
    });

    it('plan and check say so when no schema is bound', async () => {
      const rt = await createRuntime({ dataDir: dir });
      await rt.close();
      const result = await run(dir, 'migrate', 'plan');
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, '');
      assert.match(result.stderr, /^no schema is bound in .*: there is nothing to migrate\n$/);
      const json = await run(dir, 'migrate', 'plan', '--json');
      assertSucceeds(json);
      assert.deepEqual(JSON.parse(json.stdout), { plans: [], failures: [] });
      const check = await run(dir, 'migrate', 'check');
      assertSucceeds(check);
      assert.equal(check.stdout, 'no schema is bound: there is nothing to check\n');
    });

    it('fails with MIGRATION_NO_PATH, exit 1, when records cannot reach the newest version', async () => {
      await seed(dir, { unreachable: true });
      assertFails(await run(dir, 'migrate', 'plan', 'profile'), 1, 'error[MIGRATION_NO_PATH]: ');
      const all = await run(dir, 'migrate', 'plan', '--json');
      assert.equal(all.code, 1, all.stderr);
      const report = JSON.parse(all.stdout) as { plans: unknown[]; failures: Array<{ code: string; details: { schema: string; records: number } }> };
      assert.deepEqual(report.plans, []);
      assert.deepEqual(
        report.failures.map(({ code, details }) => ({ code, schema: details.schema, records: details.records })),
        [{ code: 'MIGRATION_NO_PATH', schema: 'profile', records: 3 }],
      );
      assert.match(all.stderr, /^error\[MIGRATION_NO_PATH\]: /);
    });
  });

  describe('check', () => {
    it('without --schemas, records whose migration has a custom step fail, with a hint to pass the module', async () => {
      await seed(dir);
      const result = await run(dir, 'migrate', 'check');
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stdout, /^profile@2\.0\.0 +3 +0 +0 +3$/m);
      assert.equal(result.stderr, 'tagAdults is a custom step whose code is not here: run llmstate with --schemas <module>, the module that registers the schemas and defines the migrations\n');
    });


    it('passes, exit 0, when every record migrates; prints counts per schema', async () => {
      await seed(dir);
      const result = await runWithCode(dir, 'migrate', 'check');
      assertSucceeds(result);
      const lines = result.stdout.trimEnd().split('\n');
      assert.match(lines[0], /^schema +checked +current +migratable +failed$/);
      assert.match(lines[1], /^profile@2\.0\.0 +3 +0 +3 +0$/);
      assert.match(lines.at(-1)!, /^ok: every record bound to a schema loads under its current version or migrates to it$/);

      const json = await runWithCode(dir, 'migrate', 'check', '--json');
      assertSucceeds(json);
      const report = JSON.parse(json.stdout) as { ok: boolean; counts: Record<string, number>; failures: unknown[] };
      assert.equal(report.ok, true);
      assert.deepEqual(report.counts, { checked: 3, current: 0, migratable: 3, failed: 0 });
    });

    it('fails, exit 1, naming the record that cannot migrate; --json prints the report and exits 1 too', async () => {
      await seed(dir, { extra: [['a4', { name: 'Zed', age: 'old' }]] });
      const result = await runWithCode(dir, 'migrate', 'check');
      assert.equal(result.code, 1, result.stderr);
      assert.equal(result.stderr, '');
      assert.match(result.stdout, /^profile@2\.0\.0 +4 +0 +3 +1$/m);
      assert.match(result.stdout, /^ {2}agent:a4 profile \(1\.0\.0\): .*age/m);
      assert.match(result.stdout, /^FAILED: 1 record neither loads under the current version nor migrates to it/m);

      const json = await runWithCode(dir, 'migrate', 'check', '--json');
      assert.equal(json.code, 1);
      const report = JSON.parse(json.stdout) as { ok: boolean; failures: Array<{ scope: string; key: string; version: string }> };
      assert.equal(report.ok, false);
      assert.deepEqual(report.failures.map(({ scope, key, version }) => ({ scope, key, version })), [{ scope: 'agent:a4', key: 'profile', version: '1.0.0' }]);
    });
  });

  describe('run', () => {
    it('--dry-run prints counts and sample diffs, and writes nothing', async () => {
      await seed(dir);
      const result = await runWithCode(dir, 'migrate', 'run', 'profile', '--dry-run');
      assertSucceeds(result);
      const out = result.stdout;
      assert.match(out, /^dry run: migrating profile to 2\.0\.0 would change 3 records of 3 \(from 1\.0\.0: 3\); 0 at 2\.0\.0 already$/m);
      assert.match(out, /^sample agent:a1 profile \(1\.0\.0 → 2\.0\.0\)$/m);
      assert.match(out, /^ {2}remove \/name \(was "Ada"\)$/m);
      assert.match(out, /^ {2}add \/fullName: "Ada"$/m);
      assert.match(out, /^ {2}replace \/age: "36" → 36$/m);
      assert.match(out, /^ {2}add \/tags: \["adult"\]$/m);
      assert.match(out, /nothing was written\n$/);
      assert.deepEqual(await profiles(dir), BEFORE);

      const one = JSON.parse((await runWithCode(dir, 'migrate', 'run', 'profile', '--dry-run', '--samples', '1', '--json')).stdout) as { dryRun: boolean; samples: unknown[] };
      assert.equal(one.dryRun, true);
      assert.equal(one.samples.length, 1);
    });

    it('migrates every record after a backup, and prints a summary', async () => {
      await seed(dir);
      const result = await runWithCode(dir, 'migrate', 'run', 'profile');
      assertSucceeds(result);
      assert.match(result.stdout, /^migrated profile to 2\.0\.0: 3 records of 3 \(from 1\.0\.0: 3\); 0 at 2\.0\.0 already, in [\d.]+ m?s$/m);
      const backupId = /^backup (\S+), taken first: restore it to undo this$/m.exec(result.stdout)?.[1];
      assert.ok(backupId, result.stdout);
      assert.match(result.stdout, /^committed at sequence \d+$/m);
      assert.doesNotMatch(result.stdout, /^sample /m, 'sample diffs are for dry runs');
      assert.deepEqual(await profiles(dir), AFTER);

      const backups = JSON.parse((await run(dir, 'backup', 'list', '--json')).stdout) as Array<{ id: string }>;
      assert.deepEqual(backups.map(({ id }) => id), [backupId]);
      // Nothing is left to migrate.
      assert.match((await run(dir, 'migrate', 'plan', 'profile')).stdout, /^profile → 2\.0\.0: 3 records, 3 at 2\.0\.0 already, nothing to migrate$/m);
    });

    it('--no-backup --json takes no backup and prints the result', async () => {
      await seed(dir);
      const result = await runWithCode(dir, 'migrate', 'run', 'profile', '--no-backup', '--json');
      assertSucceeds(result);
      const migrated = JSON.parse(result.stdout) as { schema: string; to: string; dryRun: boolean; records: number; migrated: number; backupId?: string };
      assert.deepEqual(
        { schema: migrated.schema, to: migrated.to, dryRun: migrated.dryRun, records: migrated.records, migrated: migrated.migrated, backupId: migrated.backupId },
        { schema: 'profile', to: '2.0.0', dryRun: false, records: 3, migrated: 3, backupId: undefined },
      );
      assert.deepEqual(await profiles(dir), AFTER);
      assert.deepEqual(JSON.parse((await run(dir, 'backup', 'list', '--json')).stdout), []);
    });

    it('without --schemas a custom step has no code: the run fails, exit 1, and changes nothing', async () => {
      await seed(dir);
      const result = await run(dir, 'migrate', 'run', 'profile', '--no-backup');
      assertFails(result, 1, 'error[MIGRATION_FAILED]: ');
      assert.match(result.stderr, /tagAdults.* With the CLI, run llmstate with --schemas <module>, the module that registers the schemas and defines the migrations\.\n$/);
      assert.deepEqual(await profiles(dir), BEFORE);
    });

    it('a record that cannot migrate fails the run with MIGRATION_FAILED, exit 1, naming it; nothing changes', async () => {
      await seed(dir, { extra: [['a4', { name: 'Zed', age: 'old' }]] });
      const result = await runWithCode(dir, 'migrate', 'run', 'profile');
      assertFails(result, 1, 'error[MIGRATION_FAILED]: ');
      assert.match(result.stderr, /agent:a4/);
      assert.deepEqual(await profiles(dir), BEFORE);
    });

    it('the progress bar is drawn on a terminal, a phase at a time, and not when piped', async () => {
      await seed(dir, { extra: Array.from({ length: 200 }, (_, i): [string, { name: string; age: string }] => [`p${i}`, { name: `P${i}`, age: String(i % 90) }]) });
      const piped = await runWithCode(dir, 'migrate', 'run', 'profile', '--dry-run');
      assertSucceeds(piped);
      assert.doesNotMatch(piped.stdout + piped.stderr, /ETA|\| \d+ of \d+ records/);

      const terminal = await onTerminal(['--data-dir', dir, '--schemas', PROFILE_MODULE, 'migrate', 'run', 'profile']);
      assert.equal(terminal.code, 0, terminal.output);
      assert.match(terminal.output, /backing up .*records/);
      assert.match(terminal.output, /migrating .*\d+ of \d+ records \| ETA /);
      assert.match(terminal.output, /migrated profile to 2\.0\.0: 203 records of 203/);
    });
  });

  describe('usage errors exit 2 and run nothing', () => {
    const cases: Array<[string, string[], RegExp]> = [
      ['run without a schema', ['migrate', 'run'], /^error: missing required argument 'schema'\n\(run llmstate migrate run --help for usage\)/],
      ['a --to that is not a version', ['migrate', 'run', 'profile', '--to', '2'], /^error: option '--to <version>' argument '2' is invalid\. Expected a version MAJOR\.MINOR\.PATCH/],
      ['a --samples that is not a count', ['migrate', 'run', 'profile', '--dry-run', '--samples', 'many'], /^error: option '--samples <n>' argument 'many' is invalid/],
      ['a --limit that is not a count', ['migrate', 'check', '--limit', '-1'], /^error: option '--limit <n>' argument '-1' is invalid/],
      ['a schema name that is not one', ['migrate', 'plan', 'pro file'], /^error: command-argument value 'pro file' is invalid for argument 'schema'/],
      ['an unknown subcommand', ['migrate', 'undo'], /^error: unknown command 'undo'/],
    ];
    for (const [what, args, message] of cases) {
      it(what, async () => {
        await seed(dir);
        const result = await runWithCode(dir, ...args);
        assert.equal(result.code, 2, result.stderr);
        assert.equal(result.stdout, '');
        assert.match(result.stderr, message);
        assert.deepEqual(await profiles(dir), BEFORE);
      });
    }
  });
});

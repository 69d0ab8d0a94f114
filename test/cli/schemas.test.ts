import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { createRuntime, Scope, steps } from '../../src/index.js';
import { PROFILE_1, PROFILE_2, tagAdults } from '../fixtures/schemas/profileSchemas.mjs';
import { assertBuilt, assertFails, assertSucceeds, llmstate, removeTempDirs, tempDir, type CliResult } from './runCli.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/schemas/', import.meta.url));
const PROFILE_MODULE = join(FIXTURES, 'profile.mjs');

function run(dataDir: string, ...args: string[]): Promise<CliResult> {
  return llmstate(['--data-dir', dataDir, ...args]);
}

/**
 * A store with profile 1.0.0 (bound to agent keys starting with `profile`, one record written under it),
 * profile 2.0.0 and the migration between them, and settings 1.0.0, bound nowhere.
 */
async function seed(dataDir: string): Promise<{ docs: string }> {
  const rt = await createRuntime({ dataDir });
  try {
    await rt.schemas.register({ name: 'profile', version: '1.0.0', schema: PROFILE_1 });
    await rt.schemas.bind('profile', { scopeKind: 'agent', keyPrefix: 'profile' });
    await rt.state.set(Scope.agent('a1'), 'profile', { name: 'Ada', age: '36' });
    await rt.schemas.register({ name: 'profile', version: '2.0.0', schema: PROFILE_2, description: 'Full name, age as a number, tags' });
    await rt.migrations.define({ schema: 'profile', from: '1.0.0', to: '2.0.0', steps: [steps.renameField('name', 'fullName'), steps.convert('age', 'number'), steps.custom(tagAdults)] });
    await rt.schemas.register({ name: 'settings', version: '1.0.0', schema: z.object({ theme: z.enum(['dark', 'light']).default('dark') }) });
    return { docs: rt.schemas.docs() };
  } finally {
    await rt.close();
  }
}

interface ListedSchema {
  name: string;
  version: string;
  hash: string;
  current: boolean;
  fromCode: boolean;
  jsonSchema: Record<string, unknown>;
}

describe('llmstate schemas', function () {
  this.timeout(120_000);
  before(assertBuilt);
  let dir: string;
  beforeEach(() => (dir = join(tempDir('llmstate-schemas-cli-'), 'data')));
  afterEach(() => removeTempDirs());

  it('list prints one row per version, oldest first, from the store; --json prints what rt.schemas.list() returns', async () => {
    await seed(dir);
    const table = await run(dir, 'schemas', 'list');
    assertSucceeds(table);
    const lines = table.stdout.trimEnd().split('\n');
    assert.match(lines[0], /^name +version +status +registered +hash +from +description$/);
    assert.match(lines[1], /^profile +1\.0\.0 +- +\d{4}-\d\d-\d\dT[\d:.]+Z +[0-9a-f]{12} +store$/);
    assert.match(lines[2], /^profile +2\.0\.0 +current +\S+ +[0-9a-f]{12} +store +Full name, age as a number, tags$/);
    assert.match(lines[3], /^settings +1\.0\.0 +current +\S+ +[0-9a-f]{12} +store$/);
    assert.equal(lines.length, 4);

    const json = await run(dir, 'schemas', 'list', '--json');
    assertSucceeds(json);
    const listed = JSON.parse(json.stdout) as ListedSchema[];
    assert.deepEqual(
      listed.map(({ name, version, current, fromCode }) => ({ name, version, current, fromCode })),
      [
        { name: 'profile', version: '1.0.0', current: false, fromCode: false },
        { name: 'profile', version: '2.0.0', current: true, fromCode: false },
        { name: 'settings', version: '1.0.0', current: true, fromCode: false },
      ],
    );
    assert.equal(listed[1].hash.slice(0, 12), /^profile +2\.0\.0 +current +\S+ +([0-9a-f]{12})/.exec(lines[2])![1]);
    assert.equal((listed[1].jsonSchema.properties as Record<string, unknown>).fullName !== undefined, true);
  });

  it('list of a store without schemas prints a note, and --json an empty list', async () => {
    const rt = await createRuntime({ dataDir: dir });
    await rt.close();
    const result = await run(dir, 'schemas', 'list');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^no schema is registered in .+\n$/);
    const json = await run(dir, 'schemas', 'list', '--json');
    assertSucceeds(json);
    assert.deepEqual(JSON.parse(json.stdout), []);
  });

  it('--schemas runs the module after the runtime opens: its versions are from code', async () => {
    await seed(dir);
    const result = await llmstate(['--data-dir', dir, '--schemas', PROFILE_MODULE, 'schemas', 'list', '--json']);
    assertSucceeds(result);
    const listed = JSON.parse(result.stdout) as ListedSchema[];
    assert.deepEqual(
      listed.map(({ name, version, fromCode }) => `${name}@${version} ${fromCode ? 'code' : 'store'}`),
      ['profile@1.0.0 code', 'profile@2.0.0 code', 'settings@1.0.0 store'],
    );
  });

  it('show prints the current version: hash, bindings, migrations, fields and JSON Schema', async () => {
    await seed(dir);
    const result = await run(dir, 'schemas', 'show', 'profile');
    assertSucceeds(result);
    const out = result.stdout;
    assert.match(out, /^schema {6}profile@2\.0\.0 \(current\)$/m);
    assert.match(out, /^versions {4}1\.0\.0, 2\.0\.0$/m);
    assert.match(out, /^hash {8}[0-9a-f]{64}$/m);
    assert.match(out, /^registered  \d{4}-\d\d-\d\dT[\d:.]+Z$/m);
    assert.match(out, /^from {8}the store \(run with --schemas <module> to use the code\)$/m);
    assert.match(out, /^description Full name, age as a number, tags$/m);
    assert.match(out, /^bound to {4}agent scopes, keys starting with profile$/m);
    assert.match(out, /^migrations  1\.0\.0 → 2\.0\.0: renameField.*name.*fullName.*, convert.*age.*number.*, custom.*tagAdults.* \(no code for tagAdults: run with --schemas <module>\)$/m);
    assert.match(out, /^ {2}field +type +required +default +description$/m);
    assert.match(out, /^ {2}fullName +string +required +Given and family name$/m);
    assert.match(out, /^ {2}age +number +required$/m);
    assert.match(out, /^ {2}tags +array of string +required$/m);
    const jsonSchema = out.slice(out.indexOf('JSON Schema\n') + 'JSON Schema\n'.length);
    assert.equal((JSON.parse(jsonSchema) as { type: string }).type, 'object');

    const withCode = await llmstate(['--data-dir', dir, '--schemas', PROFILE_MODULE, 'schemas', 'show', 'profile']);
    assertSucceeds(withCode);
    assert.match(withCode.stdout, /^from {8}the application's code$/m);
    assert.doesNotMatch(withCode.stdout, /no code for/);
  });

  it('show name@version shows an older version; --json prints it with its versions, bindings and migrations', async () => {
    await seed(dir);
    const older = await run(dir, 'schemas', 'show', 'profile@1.0.0');
    assertSucceeds(older);
    assert.match(older.stdout, /^schema {6}profile@1\.0\.0$/m);
    assert.match(older.stdout, /^ {2}name +string +required$/m);

    const json = await run(dir, 'schemas', 'show', 'settings', '--json');
    assertSucceeds(json);
    const details = JSON.parse(json.stdout) as ListedSchema & { versions: string[]; bindings: unknown[]; migrations: unknown[] };
    assert.equal(details.name, 'settings');
    assert.equal(details.version, '1.0.0');
    assert.equal(details.current, true);
    assert.match(details.hash, /^[0-9a-f]{64}$/);
    assert.deepEqual(details.versions, ['1.0.0']);
    assert.deepEqual(details.bindings, []);
    assert.deepEqual(details.migrations, []);
    const profile = JSON.parse((await run(dir, 'schemas', 'show', 'profile@1.0.0', '--json')).stdout) as {
      bindings: Array<{ schema: string; scopeKind?: string; keyPrefix?: string }>;
      migrations: Array<{ from: string; to: string; runnable: boolean; missingCode: string[] }>;
    };
    assert.deepEqual(
      profile.bindings.map(({ schema, scopeKind, keyPrefix }) => ({ schema, scopeKind, keyPrefix })),
      [{ schema: 'profile', scopeKind: 'agent', keyPrefix: 'profile' }],
    );
    assert.deepEqual(
      profile.migrations.map(({ from, to, runnable, missingCode }) => ({ from, to, runnable, missingCode })),
      [{ from: '1.0.0', to: '2.0.0', runnable: false, missingCode: ['tagAdults'] }],
    );
  });

  it('show of a schema or version that is not registered fails, exit 1', async () => {
    await seed(dir);
    const missing = await run(dir, 'schemas', 'show', 'nope');
    assertFails(missing, 1, 'no schema nope is registered in ');
    assert.match(missing.stderr, /llmstate schemas list shows them\n$/);
    assertFails(await run(dir, 'schemas', 'show', 'profile@9.9.9'), 1, 'no version 9.9.9 of schema profile is registered in ');
  });

  it('docs prints the Markdown of rt.schemas.docs(), or writes it to --out', async () => {
    const { docs } = await seed(dir);
    const printed = await run(dir, 'schemas', 'docs');
    assertSucceeds(printed);
    assert.equal(printed.stdout, docs);
    assert.match(printed.stdout, /^# Schemas$/m);
    assert.match(printed.stdout, /^\| `fullName` \| string \| required \| {2}\| Given and family name \|$/m);

    const out = join(dir, '..', 'schemas.md');
    const written = await run(dir, 'schemas', 'docs', '--out', out);
    assert.equal(written.code, 0, written.stderr);
    assert.equal(written.stdout, '');
    assert.equal(written.stderr, `wrote the schema documentation to ${out}\n`);
    assert.equal(readFileSync(out, 'utf8'), docs);
  });

  it('a module that registers a changed schema under a recorded version fails with SCHEMA_INCOMPATIBLE, exit 1', async () => {
    await seed(dir);
    const result = await llmstate(['--data-dir', dir, '--schemas', join(FIXTURES, 'changed.mjs'), 'schemas', 'list']);
    assertFails(result, 1, 'error[SCHEMA_INCOMPATIBLE]: ');
    assert.match(result.stderr, /while --schemas .*changed\.mjs registered the application's schemas/);
  });

  it('hostile text in descriptions and keys reaches the terminal escaped, by every subcommand', async () => {
    const hostile = '\u001b[31mred\u202erlo\nforged';
    const rt = await createRuntime({ dataDir: dir });
    try {
      await rt.schemas.register({ name: 'note', version: '1.0.0', description: hostile, schema: z.object({ [hostile]: z.string().describe(hostile) }) });
      await rt.schemas.bind('note', { keyPrefix: 'note\u202e' });
    } finally {
      await rt.close();
    }
    const raw = /(?!\n)[\p{Cc}\p{Cf}]/u;
    for (const args of [['schemas', 'list'], ['schemas', 'show', 'note'], ['schemas', 'show', 'note', '--json'], ['schemas', 'docs']]) {
      const result = await run(dir, ...args);
      assertSucceeds(result);
      assert.doesNotMatch(result.stdout, raw, args.join(' '));
      assert.doesNotMatch(result.stdout, /^forged/m, args.join(' '));
      assert.match(result.stdout, /\\u001b\[31mred\\u202erlo/, args.join(' '));
    }
  });

  describe('usage errors exit 2 and touch no store', () => {
    const cases: Array<[string, (fixtures: string, scratch: string) => string[], RegExp]> = [
      ['show without a name', () => ['schemas', 'show'], /^error: missing required argument 'name\[@version\]'\n\(run llmstate schemas show --help for usage\)/],
      ['a name that is not a schema name', () => ['schemas', 'show', '9lives'], /^error: command-argument value '9lives' is invalid for argument 'name\[@version\]'\. Expected a schema name/],
      ['a version that is not MAJOR.MINOR.PATCH', () => ['schemas', 'show', 'profile@1.0'], /^error: command-argument value 'profile@1\.0' is invalid for argument 'name\[@version\]'\. Expected a version MAJOR\.MINOR\.PATCH/],
      ['an unknown subcommand', () => ['schemas', 'drop'], /^error: unknown command 'drop'/],
      ['--schemas naming no file', (_, scratch) => ['--schemas', join(scratch, 'missing.mjs'), 'schemas', 'list'], /^error: option '--schemas <module>' argument '.*missing\.mjs' is invalid\. There is no file /],
      ['--schemas naming a directory', (fixtures) => ['--schemas', fixtures, 'schemas', 'list'], /is a directory; name the module file\./],
      ['--schemas without a default export', (fixtures) => ['--schemas', join(fixtures, 'noDefault.mjs'), 'schemas', 'list'], /^error: --schemas .*noDefault\.mjs must export by default a function/],
      ['--schemas that cannot be imported', (_, scratch) => ['--schemas', join(scratch, 'broken.mjs'), 'schemas', 'list'], /^error: cannot import --schemas .*broken\.mjs: /],
      ['--out in a directory that does not exist', (_, scratch) => ['schemas', 'docs', '--out', join(scratch, 'nowhere', 'x.md')], /^error: option '--out <file>' argument .* is invalid\. The directory .* does not exist\./],
    ];
    for (const [what, args, message] of cases) {
      it(what, async () => {
        const scratch = tempDir('llmstate-schemas-usage-');
        writeFileSync(join(scratch, 'broken.mjs'), 'export default function (rt) {');
        const data = join(scratch, 'data');
        mkdirSync(data);
        const result = await run(data, ...args(FIXTURES, scratch));
        assert.equal(result.code, 2, result.stderr);
        assert.equal(result.stdout, '');
        assert.match(result.stderr, message);
        assert.deepEqual(readdirSync(data), [], 'no store was created');
      });
    }
  });
});

import { AssertionError } from 'node:assert';
import { isDeepStrictEqual } from 'node:util';
import type { z } from 'zod';
import type { Runtime } from '../runtime.js';
import { applySteps, type MigrationStep } from '../schema/steps.js';

/** A migration given directly, without a runtime: its steps, and the schema the result must match. */
export interface MigrationUnderTest {
  steps: readonly MigrationStep[];
  /** The target version's zod schema; each result must parse under it. */
  to?: z.ZodType;
}

/** One value before a migration, and what must become of it. */
export interface MigrationFixture {
  /** Named in a failure. */
  name?: string;
  /** With a runtime: the schema and the version `before` is at. */
  schema?: string;
  from?: string;
  /** With a runtime: the version to migrate to. @default the newest registered */
  to?: string;
  before: unknown;
  /** The value the migration must produce (deep strict equality). */
  after?: unknown;
  /** The migration must fail instead (with a message matching the string or pattern, when given). */
  fails?: true | string | RegExp;
}

/**
 * Asserts that each fixture migrates as it says: with a runtime, through the schemas and migrations it
 * has (the same chain and validation as `rt.migrations.run`); with `{ steps, to }`, through those steps.
 * Throws an `AssertionError` naming the first fixture that does not, so it works in any test runner.
 *
 * @example
 * assertMigrates(rt, [{ schema: 'profile', from: '1.0.0', before: { name: 'Ada', age: '36' }, after: { fullName: 'Ada', age: 36, tags: [] } }]);
 */
export function assertMigrates(subject: Runtime | MigrationUnderTest, fixtures: readonly MigrationFixture[]): void {
  if (!Array.isArray(fixtures)) throw new TypeError('Expected `fixtures` to be an array');
  fixtures.forEach((fixture, index) => {
    const label = fixture.name ?? `fixture ${index}`;
    let result: unknown;
    let failure: Error | undefined;
    try {
      result = migrate(subject, fixture, label);
    } catch (error) {
      if (error instanceof TypeError) throw error;
      failure = error as Error;
    }
    if (fixture.fails !== undefined) {
      if (failure === undefined) throw new AssertionError({ message: `${label}: expected the migration to fail, but it produced a value`, actual: result, expected: 'a failure', operator: 'assertMigrates' });
      const wanted = fixture.fails;
      const matches = wanted === true || (typeof wanted === 'string' ? failure.message.includes(wanted) : wanted.test(failure.message));
      if (!matches) throw new AssertionError({ message: `${label}: the migration failed, but not as expected: ${failure.message}`, actual: failure.message, expected: String(wanted), operator: 'assertMigrates' });
      return;
    }
    if (failure !== undefined) throw new AssertionError({ message: `${label}: the migration failed: ${failure.message}`, actual: failure.message, expected: fixture.after, operator: 'assertMigrates' });
    if ('after' in fixture && !isDeepStrictEqual(result, fixture.after)) {
      throw new AssertionError({ message: `${label}: the migrated value differs from the expected one`, actual: result, expected: fixture.after, operator: 'assertMigrates' });
    }
  });
}

function migrate(subject: Runtime | MigrationUnderTest, fixture: MigrationFixture, label: string): unknown {
  if ('steps' in subject && Array.isArray(subject.steps)) {
    const after = applySteps(fixture.before, subject.steps);
    if (subject.to !== undefined) {
      const parsed = subject.to.safeParse(after);
      if (!parsed.success) throw new Error(`the migrated value does not match the target schema: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || '(the value)'}: ${issue.message}`).join('; ')}`);
    }
    return after;
  }
  const rt = subject as Runtime;
  if (fixture.schema === undefined || fixture.from === undefined) throw new TypeError(`${label}: with a runtime, a fixture names its \`schema\` and \`from\` version`);
  return rt.migrations.migrateValue(fixture.schema, fixture.before, { from: fixture.from, ...(fixture.to === undefined ? {} : { to: fixture.to }) });
}

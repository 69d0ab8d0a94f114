import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { createRuntime, LlmStateError, Scope, verifyStore, type Runtime, type VerifyReport } from '../src/index.js';
import { runs } from './budget.js';

const SCOPES = [Scope.agent('a1'), Scope.workflow('w1'), Scope.global()];

/**
 * A store with a table (the first session's writes, moved there when the second session opened) and a
 * write-ahead log (the second session's), closed cleanly; and what it must hold.
 */
async function buildTemplate(dataDir: string): Promise<Map<string, unknown>> {
  const expected = new Map<string, unknown>();
  let rt = await createRuntime({ dataDir });
  for (let i = 0; i < 150; i++) {
    const scope = SCOPES[i % SCOPES.length];
    const value = { i, note: `value ${i} `.repeat(1 + (i % 7)) };
    await rt.state.set(scope, `k${i}`, value);
    expected.set(`${scope}|k${i}`, value);
  }
  await rt.close();
  rt = await createRuntime({ dataDir });
  for (let i = 150; i < 200; i++) {
    const scope = SCOPES[i % SCOPES.length];
    await rt.state.set(scope, `k${i}`, i);
    expected.set(`${scope}|k${i}`, i);
  }
  await rt.state.delete(SCOPES[0], 'k0');
  expected.delete(`${SCOPES[0]}|k0`);
  await rt.close();
  return expected;
}

function isCode(error: unknown, ...codes: string[]): boolean {
  return error instanceof LlmStateError && codes.includes(error.code);
}

describe('damaged store files (one flipped bit)', function () {
  this.timeout(600_000);
  let template: string;
  let expected: Map<string, unknown>;
  let files: string[];
  before(async () => {
    template = mkdtempSync(join(tmpdir(), 'llmstate-flip-template-'));
    expected = await buildTemplate(template);
    files = readdirSync(join(template, 'db')).filter((name) => name !== 'LOCK' && statSync(join(template, 'db', name)).size > 0);
    assert.ok(files.some((name) => name.endsWith('.ldb')) && files.some((name) => name.endsWith('.log')), files.join(' '));
  });
  after(() => rmSync(template, { recursive: true, force: true }));

  it('a flipped bit in any store file is reported as DATA_CORRUPT, or every acknowledged value reads back intact; never wrong data', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.nat(), fc.integer({ min: 0, max: 7 }), async (fileChoice, position, bit) => {
        const dataDir = mkdtempSync(join(tmpdir(), 'llmstate-flip-'));
        let rt: Runtime | undefined;
        try {
          cpSync(template, dataDir, { recursive: true });
          const file = join(dataDir, 'db', files[fileChoice % files.length]);
          const bytes = readFileSync(file);
          bytes[position % bytes.length] ^= 1 << bit;
          writeFileSync(file, bytes);

          // The check of every record says whether anything is damaged; it may also refuse to open.
          let report: VerifyReport | undefined;
          try {
            report = await verifyStore({ dataDir });
          } catch (error) {
            assert.ok(isCode(error, 'DATA_CORRUPT'), `verify failed with ${String(error)}`);
          }
          const damageReported = report === undefined || !report.ok;
          // LevelDB's compaction aborts the process on a table whose keys a flip put out of order (an
          // assertion in its table builder), so a store with a damaged table is left unopened, as
          // verify tells its user. The table check must have found the damage, though.
          if (report !== undefined && report.tables.damaged > 0) return;

          try {
            rt = await createRuntime({ dataDir });
          } catch (error) {
            assert.ok(isCode(error, 'DATA_CORRUPT'), `open failed with ${String(error)}`);
            assert.ok(damageReported, 'the open found damage that verify did not');
            return;
          }
          for (const [name, value] of expected) {
            const [scopeText, key] = name.split('|');
            const scope = Scope.parse(scopeText);
            try {
              const read: unknown = await rt.state.get(scope, key);
              if (read === undefined && damageReported) continue;
              assert.deepStrictEqual(read, value, `${name} read back wrong, and no damage was reported`);
            } catch (error) {
              if (error instanceof assert.AssertionError) throw error;
              assert.ok(isCode(error, 'DATA_CORRUPT'), `${name}: ${String(error)}`);
            }
          }
          if (!damageReported) {
            for (const scope of SCOPES) {
              const keys = [...expected.keys()].filter((name) => name.startsWith(`${scope}|`)).map((name) => name.split('|')[1]).sort();
              assert.deepEqual(await rt.state.listKeys(scope), keys);
            }
          }
        } finally {
          await rt?.close().catch(() => undefined);
          rmSync(dataDir, { recursive: true, force: true });
        }
      }),
      { numRuns: runs(150) },
    );
  });
});

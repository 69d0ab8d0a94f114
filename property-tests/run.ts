/**
 * Runs the fast-check property tests under mocha.
 *
 *   npm run test:props                 # the default budget of runs
 *   npm run test:props -- --runs 2000  # longer
 *   npm run test:props -- --seed 42    # replay a failure (fast-check prints the seed and path)
 */
import Mocha from 'mocha';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
function flag(name: string): number | undefined {
  const index = args.indexOf(`--${name}`);
  if (index === -1) return undefined;
  const value = Number(args[index + 1]);
  if (!Number.isSafeInteger(value)) {
    console.error(`--${name} takes an integer, got ${args[index + 1]}`);
    process.exit(2);
  }
  return value;
}

const runs = flag('runs');
const seed = flag('seed');
if (runs !== undefined) process.env.LLMSTATE_PROP_RUNS = String(runs);
if (seed !== undefined) process.env.LLMSTATE_PROP_SEED = String(seed);

// Two files at a time, as the mocha tests run: each in a worker process that loads setup.ts first.
const here = dirname(fileURLToPath(import.meta.url));
const mocha = new Mocha({ timeout: 300_000, reporter: 'spec', parallel: true, jobs: 2, require: [join(here, 'setup.ts')] });
for (const file of readdirSync(here).filter((name) => name.endsWith('.test.ts')).sort()) mocha.addFile(join(here, file));
mocha.run((failures) => {
  process.exitCode = failures > 0 ? 1 : 0;
});

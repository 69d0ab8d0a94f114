import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { assertBuilt, CLI } from './runCli.js';

const RECORD_LOADS = fileURLToPath(new URL('../fixtures/moduleLoads/register.mjs', import.meta.url));

/** What `llmstate …args` loads: the modules of llmstate's own build (relative to dist/), and the packages. */
async function modulesLoaded(args: readonly string[]): Promise<{ own: string[]; packages: Set<string> }> {
  const { stderr } = await promisify(execFile)(process.execPath, ['--import', RECORD_LOADS, CLI, ...args]).catch((error: { stderr?: string }) => ({ stderr: error.stderr ?? '' }));
  const urls = stderr
    .split('\n')
    .filter((line) => line.startsWith('loaded '))
    .map((line) => line.slice('loaded '.length));
  return {
    own: urls.filter((url) => url.includes('/dist/')).map((url) => url.slice(url.indexOf('/dist/') + '/dist/'.length)),
    packages: new Set(urls.flatMap((url) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1] ?? [])),
  };
}

// The command line loads the runtime (about three hundred modules, with zod) only once a command opens a
// store: help, the version and usage errors come back without it. The test suites run the binary over a
// thousand times, and most of the time of one that opens nothing was this loading.
describe('llmstate start-up', function () {
  this.timeout(60_000);
  before(assertBuilt);

  for (const args of [['--version'], ['--help'], ['get', 'not a scope', 'k'], ['backup', 'prune'], ['verify', '--no-such-option']]) {
    it(`llmstate ${args.join(' ')} loads neither the runtime nor its packages`, async () => {
      const { own, packages } = await modulesLoaded(args);
      assert.ok(own.includes('src/cli/program.js'), `the loads were not recorded: ${own.join(', ')}`);
      assert.ok(!own.includes('src/runtime.js'), 'the runtime was loaded');
      for (const name of ['zod', 'xstate', 'piscina', 'classic-level', 'memory-level', 'pg']) assert.ok(!packages.has(name), `${name} was loaded`);
    });
  }

  it('a command that opens a store loads the runtime', async () => {
    const { own, packages } = await modulesLoaded(['get', 'agent:a1', 'k', '--data-dir', '/nonexistent/llmstate-startup-test']);
    assert.ok(own.includes('src/runtime.js'), own.join(', '));
    assert.ok(packages.has('zod') && packages.has('classic-level'), [...packages].join(', '));
  });
});

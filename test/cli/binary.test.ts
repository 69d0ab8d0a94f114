import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { assertBuilt, type CliResult, holdOpen, inDir, llmstate, llmstateProcess, removeTempDirs, tempDir, type RunOptions } from './runCli.js';

// Most command-line tests run the command line in their own process (see llmstate in runCli.ts). The
// binary must do exactly what they see: the same output and exit code, and an exit once it is done.
describe('llmstate binary and llmstate in this process', function () {
  this.timeout(60_000);
  let dataDir: string;

  before(async () => {
    assertBuilt();
    dataDir = tempDir();
    for (const [key, value] of [['topic', '{"name":"weather"}'], ['count', '3']]) {
      const set = await llmstateProcess(['--data-dir', dataDir, 'set', 'agent:a1', key, value]);
      assert.equal(set.code, 0, set.stderr);
    }
  });

  after(() => removeTempDirs());

  const runs: [string, string[], RunOptions?][] = [
    ['a value', ['get', 'agent:a1', 'topic', '--pretty']],
    ['the keys', ['keys', 'agent:a1']],
    ['the statistics as JSON, less what changes between runs', ['stats', '--json']],
    ['a missing key (exit 1)', ['get', 'agent:a1', 'missing']],
    ['an invalid scope (exit 1)', ['get', 'agent:', 'k']],
    ['a usage error (exit 2)', ['get', 'agent:a1']],
    ['a value from stdin', ['set', 'agent:a2', 'from-stdin', '-'], { input: '{"piped":true}' }],
    ['a value read back', ['get', 'agent:a2', 'from-stdin']],
    ['the store verified', ['verify']],
    ['the agents (none)', ['agents', 'list']],
    ['the hooks (none)', ['hooks', 'list']],
  ];
  for (const [what, args, options] of runs) {
    it(`${what}: llmstate ${args.join(' ')}`, async () => {
      const here = await llmstate(['--data-dir', dataDir, ...args], options);
      const binary = await llmstateProcess(['--data-dir', dataDir, ...args], options);
      assert.deepEqual(comparable(binary), comparable(here));
    });
  }

  it('what code the command runs writes to the process’s stdout and stderr', async () => {
    const module = path.join(tempDir(), 'schemas.mjs');
    fs.writeFileSync(module, "export default () => { console.log('said on stdout'); console.error('said on stderr'); process.emitWarning('a warning'); };\n");
    const args = ['--data-dir', dataDir, '--schemas', module, 'schemas', 'list'];
    const here = await llmstate(args);
    // Node names the process in a warning, and points to --trace-warnings after its first one only.
    const warned = (result: CliResult) => ({ ...result, stderr: result.stderr.replace(/\(node:\d+\) /, '').replace(/\(Use `node --trace-warnings[^\n]*\n/, '') });
    assert.deepEqual(warned(await llmstateProcess(args)), warned(here));
    assert.match(here.stdout, /^said on stdout\n/);
    assert.match(here.stderr, /said on stderr\n[^]*Warning: a warning/);
  });

  it('help and the version', async () => {
    for (const args of [['--help'], ['backup', '--help'], ['--version']]) {
      assert.deepEqual(await llmstateProcess(args), await llmstate(args));
    }
  });

  it('a store another process holds is refused the same way', async () => {
    const dir = tempDir();
    assert.equal((await inDir(dir, 'set', 'global', 'k', '1')).code, 0);
    const holder = await holdOpen(dir);
    try {
      const here = await inDir(dir, 'get', 'global', 'k');
      assert.deepEqual(await llmstateProcess(['--data-dir', dir, 'get', 'global', 'k']), here);
      assert.equal(here.code, 1);
      assert.match(here.stderr, /^error\[STORAGE_FAILED\].*LOCK/);
    } finally {
      await holder.stop();
    }
  });
});

/** The result, with what differs between any two runs (times, sizes on disk) left out. */
function comparable(result: { code: number; stdout: string; stderr: string }) {
  return { ...result, stdout: result.stdout.replace(/"(?:openedAt|at|bytes|sizeBytes|durationMs|uptimeMs|tookMs)":\s*[\d.]+/g, '"…":0') };
}

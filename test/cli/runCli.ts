import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import { AsyncLocalStorage } from 'node:async_hooks';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { runCli } from '../../src/cli/program.js';
import { watchResources } from './resourceWatch.js';

/**
 * Helpers for tests that run the real, built `llmstate` command line: in this process through its
 * `runCli` (most tests), or as the binary in a child process (what needs the process itself: its
 * arguments as bytes, its start, its exit with stdin left open).
 */

export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = path.join(PROJECT_ROOT, 'dist/src/cli/main.js');
const PROGRAM_MODULE = pathToFileURL(path.join(PROJECT_ROOT, 'dist/src/cli/program.js')).href;
const RUNTIME_MODULE = pathToFileURL(path.join(PROJECT_ROOT, 'dist/src/index.js')).href;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  /** Written to the child's stdin, which is then closed. */
  input?: string;
  /** Changes to the child's environment: a variable set to undefined is removed. */
  env?: Record<string, string | undefined>;
}

/** Fails with a clear message when the binary has not been built (`npm test` builds first). */
export function assertBuilt(): void {
  if (!fs.existsSync(CLI)) {
    throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does it for you)`);
  }
}

/**
 * Runs the built command line with `args` in this process, as the binary would run them, and resolves
 * with its exit code and output, whatever the code. Output includes what anything run on its behalf
 * writes to this process's stdout or stderr (a warning, a stray console.log), as the binary's would. A
 * run resolves once every timer and handle it started has ended: a command that would never exit never
 * resolves here either.
 *
 * In a child process instead (as {@link llmstateProcess}), a run given a `cwd`, or naming no store
 * (`--data-dir`, `--postgres` or LLMSTATE_POSTGRES_URL): the binary's working directory is the system's
 * temporary one, where a default `./.llmstate` may go, and this process's is the project's.
 *
 * Loading the runtime is most of what a run of the binary costs (about 0.4 s of its 0.5 s): a child
 * process for each would make the command-line tests several minutes longer.
 */
export function llmstate(args: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  const namesStore = args.some((arg) => /^--(?:data-dir|postgres)(?:=|$)/.test(arg)) || (options.env ?? process.env).LLMSTATE_POSTGRES_URL !== undefined;
  if (options.cwd !== undefined || !namesStore) return llmstateProcess(args, options);
  return runHere(args, options);
}

/** The runs under way in this process, and whether each changed the environment. */
const running = new Set<{ changesEnv: boolean }>();

async function runHere(args: readonly string[], options: RunOptions): Promise<CliResult> {
  assertBuilt();
  const { runCli: run } = (await import(PROGRAM_MODULE)) as { runCli: typeof runCli };
  const self = { changesEnv: options.env !== undefined && Object.keys(options.env).length > 0 };
  // The environment is the process's: runs that change it must not overlap (after a run that never
  // ended, every later one fails at once rather than waiting for it).
  if ([...running, self].some((one) => one.changesEnv) && running.size > 0) {
    throw new Error('An in-process llmstate run that changes the environment overlaps another (or one that never ended): use llmstateProcess');
  }
  let stdout = '';
  let stderr = '';
  const output: RunOutput = {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
  };
  const streams = {
    stdin: Readable.from(options.input === undefined ? [] : [Buffer.from(options.input)]),
    stdout: { write: output.stdout },
    stderr: { write: output.stderr },
  };
  running.add(self);
  const restoreEnv = changeEnv(options.env ?? {});
  const before = new Set(fs.readdirSync(PROJECT_ROOT));
  try {
    const code = await watchResources(() => processOutput.run(output, () => run([process.execPath, CLI, ...args], undefined, streams)));
    const made = fs.readdirSync(PROJECT_ROOT).filter((name) => !before.has(name));
    // Relative paths are the project's here, not the temporary directory as for the binary.
    if (made.length > 0) throw new Error(`llmstate ${args.join(' ')} made ${made.join(', ')} in the project's directory: give it absolute paths`);
    return { code, stdout, stderr };
  } finally {
    restoreEnv();
    running.delete(self);
  }
}

interface RunOutput {
  stdout(text: string): unknown;
  stderr(text: string): unknown;
}

/**
 * What is written to this process's stdout or stderr on behalf of a run (a warning, a console.log in
 * code the command calls) goes to the run's output, as the binary's would; the rest goes on as before.
 */
const processOutput = new AsyncLocalStorage<RunOutput>();
for (const name of ['stdout', 'stderr'] as const) {
  const stream = process[name];
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    const run = processOutput.getStore();
    if (run === undefined) return write(chunk, ...rest);
    run[name](typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString());
    const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
    if (callback !== undefined) process.nextTick(callback);
    return true;
  }) as typeof stream.write;
}

/** Applies `changes` to this process's environment (undefined removes), and returns what undoes them. */
function changeEnv(changes: Record<string, string | undefined>): () => void {
  const before = Object.entries(changes).map(([name]) => [name, process.env[name]] as const);
  for (const [name, value] of Object.entries(changes)) setEnv(name, value);
  return () => {
    for (const [name, value] of before) setEnv(name, value);
  };
}

function setEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

/** Runs `node dist/src/cli/main.js …args` in a child process, and resolves with its exit code and output, whatever the code. */
export function llmstateProcess(args: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [CLI, ...args],
      { cwd: options.cwd ?? os.tmpdir(), env: childEnv(options.env), maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error !== null && typeof error.code !== 'number') return reject(error);
        resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr });
      },
    );
    // The command may stop reading early (an input over the size limit) and exit: ignore the broken pipe.
    child.stdin?.on('error', ignoreEpipe);
    child.stdin?.end(options.input ?? '');
  });
}

function ignoreEpipe(error: NodeJS.ErrnoException): void {
  if (error.code !== 'EPIPE') throw error;
}

/**
 * Runs llmstate with arguments given as bytes, which may be invalid UTF-8 (Node would encode a string
 * argument as UTF-8): the shell passes `printf`'s output on as it is. Each of `args` is a printf format.
 */
export function llmstateBytes(formats: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  const script = `exec "$0" "$1"${formats.map((_, i) => ` "$(printf -- "$${i + 2}")"`).join('')}`;
  return new Promise((resolve, reject) => {
    execFile('/bin/sh', ['-c', script, process.execPath, CLI, ...formats], { cwd: options.cwd ?? os.tmpdir(), env: childEnv() }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== 'number') return reject(error);
      resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr });
    });
  });
}

/**
 * Runs llmstate with `input` written to its stdin, which is then left open, and resolves once it exits:
 * a command that waited for the end of its input would never exit.
 */
export function llmstateWithOpenStdin(args: readonly string[], input: Buffer): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: os.tmpdir(), env: childEnv() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdin.on('error', ignoreEpipe);
    child.once('error', reject);
    child.once('close', (code) => {
      child.stdin.destroy();
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.write(input);
  });
}

/**
 * The environment of a child, which runs built JavaScript. A tsx loader inherited through NODE_OPTIONS (as
 * in `NODE_OPTIONS='--import tsx' mocha`) is dropped: the child would look for tsx from its own working
 * directory, outside the project, and fail before running anything.
 */
export function childEnv(changes: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const { NODE_OPTIONS: nodeOptions, ...env } = process.env;
  const kept = nodeOptions?.replace(/--(?:import|loader|experimental-loader|require)(?:=|\s+)tsx\S*/g, '').trim();
  if (kept !== undefined && kept !== '') env.NODE_OPTIONS = kept;
  for (const [name, value] of Object.entries(changes)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

const tempDirs: string[] = [];

/** A new empty directory, removed by {@link removeTempDirs}. */
export function tempDir(prefix = 'llmstate-cli-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/** Also removes directories that a test found out about later, such as the demo's own. */
export function removeTempDirs(...more: string[]): void {
  for (const dir of [...tempDirs.splice(0), ...more]) fs.rmSync(dir, { recursive: true, force: true });
}

// Runs as an ES module in the child; keeps the runtime open until its stdin closes.
const HOLD_OPEN_SCRIPT = `
const [moduleUrl, dataDir] = process.argv.slice(1);
const { createRuntime } = await import(moduleUrl);
const rt = await createRuntime({ dataDir });
process.stdout.write('READY\\n');
process.stdin.resume();
process.stdin.on('end', () => rt.close());
`;

/** A child process that holds the store in `dataDir` open (and so its LevelDB lock) until it is stopped. */
export async function holdOpen(dataDir: string): Promise<{ stop(): Promise<void> }> {
  const child = spawn(process.execPath, ['--input-type=module', '--eval', HOLD_OPEN_SCRIPT, RUNTIME_MODULE, dataDir], { env: childEnv() });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.stdin.end();
    await exited;
  };
  try {
    await readyLine(child);
  } catch (error) {
    child.kill();
    throw error;
  }
  return { stop };
}

function readyLine(child: ChildProcessWithoutNullStreams): Promise<void> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('READY\n')) resolve();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => reject(new Error(`The holder exited (${code ?? signal}) before READY:\n${stderr}`)));
  });
}

/** Runs llmstate against `dataDir`. */
export function inDir(dataDir: string, ...args: string[]): Promise<CliResult> {
  return llmstate(['--data-dir', dataDir, ...args]);
}

/** Output to a pipe is never coloured. */
export function assertPlain(result: CliResult): void {
  assert.ok(!result.stdout.includes('\x1b') && !result.stderr.includes('\x1b'), 'no ANSI escapes when not a terminal');
}

export function assertFails(result: CliResult, code: number, stderrStart: string): void {
  assertPlain(result);
  assert.equal(result.code, code, `exit code; stderr: ${result.stderr}`);
  assert.equal(result.stdout, '', 'nothing on stdout');
  assert.ok(result.stderr.startsWith(stderrStart), `stderr should start with ${stderrStart}: ${result.stderr}`);
}

export function assertSucceeds(result: CliResult): void {
  assertPlain(result);
  assert.equal(result.code, 0, `exit code; stderr: ${result.stderr}`);
  assert.equal(result.stderr, '', 'nothing on stderr');
}

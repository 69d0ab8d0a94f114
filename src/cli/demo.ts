import { STORE_POINTER } from '../storage/storeDirectory.js';
import type { Command } from 'commander';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { escapeForDisplay } from '../displayText.js';
import type { DemoContext, DemoStep } from './demoContext.js';
import { DEMO_STEPS } from './demoSteps.js';
import { globalOptions } from './globalOptions.js';
import { ExitError, EXIT_FAILURE, printLine, shellQuote, stdoutStyles, type Styles } from './output.js';

/** Adds `demo`. */
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('write state, watch a hook react and follow its timeline, crash an agent under a supervisor and watch it recover, restart, and verify it all survived')
    .action(async (_options: unknown, command: Command) => {
      const { dataDir, dataDirGiven } = globalOptions(command);
      await runDemo(dataDirGiven ? resolve(dataDir) : undefined);
    });
}

/**
 * Runs every step in order against `dataDir`, or a new temporary directory that is kept afterwards.
 *
 * @throws {ExitError} with exit code 1 when any check failed.
 */
export async function runDemo(dataDir: string | undefined, steps: readonly DemoStep[] = DEMO_STEPS): Promise<void> {
  const styles = stdoutStyles();
  const directory = dataDir ?? mkdtempSync(join(tmpdir(), 'llmstate-demo-'));
  const freshStore = !existsSync(join(directory, 'db')) && !existsSync(join(directory, STORE_POINTER));
  printLine(styles.bold('llmstate demo'));
  printLine(`data dir: ${escapeForDisplay(directory)} ${styles.dim(dataDir === undefined ? '(new temporary directory, kept after the demo)' : '(from --data-dir)')}`);

  const ctx = createContext(directory, freshStore, styles);
  try {
    for (const [index, step] of steps.entries()) {
      printLine();
      printLine(styles.bold(`${index + 1}. ${step.title}`));
      await step.run(ctx);
    }
  } finally {
    await ctx.rt?.close();
  }

  printLine();
  if (ctx.failures > 0) throw new ExitError(EXIT_FAILURE, `demo: ${ctx.failures} check(s) failed`);
  printLine(styles.green('Every check passed.'));
  printLine('Look around:');
  const dir = escapeForDisplay(shellQuote(directory));
  printLine(`  llmstate --data-dir ${dir} keys agent:researcher`);
  printLine(`  llmstate --data-dir ${dir} get agent:researcher topic --pretty`);
  printLine(`  llmstate --data-dir ${dir} stats`);
  printLine(`  llmstate --data-dir ${dir} agents list`);
  printLine(`  llmstate --data-dir ${dir} agents show ada`);
  printLine(`  llmstate --data-dir ${dir} hooks history`);
  if (ctx.hookCorrelationId !== undefined) printLine(`  llmstate --data-dir ${dir} timeline ${escapeForDisplay(shellQuote(ctx.hookCorrelationId))} --format mermaid`);
}

function createContext(dataDir: string, freshStore: boolean, styles: Styles): DemoContext {
  return {
    dataDir,
    freshStore,
    rt: undefined,
    written: new Map(),
    agents: new Map(),
    hookCorrelationId: undefined,
    agentsFromSeq: 0,
    failures: 0,
    styles,
    say(text) {
      printLine(`   ${text}`);
    },
    check(ok, text) {
      if (!ok) this.failures++;
      this.say(`${ok ? styles.green('✓') : styles.red('✗')} ${text}`);
    },
    runtime() {
      if (this.rt === undefined) throw new Error('The demo runtime is closed at this step');
      return this.rt;
    },
  };
}

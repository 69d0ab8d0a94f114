import type { Command } from 'commander';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { escapeForDisplay } from '../displayText.js';
import type { RuntimeOptions } from '../runtimeOptions.js';
import type { DemoContext, DemoStep } from './demoContext.js';
import { DEFAULT_PG_SCHEMA, globalOptions } from './globalOptions.js';
import { redactPostgresUrl } from './postgresUrl.js';
import { ExitError, EXIT_FAILURE, printLine, shellQuote, stdoutStyles, type Styles } from './output.js';
import { describeStore, isPostgresStore, storeOptions, type StoreSource } from './storeSource.js';

/** Adds `demo`. */
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('write state, watch a hook react and follow its timeline, crash an agent under a supervisor and watch it recover, restart, and verify it all survived')
    .action(async (_options: unknown, command: Command) => {
      const { store, storeGiven } = globalOptions(command);
      await runDemo(storeGiven ? (isPostgresStore(store) ? store : { dataDir: resolve(store.dataDir) }) : undefined);
    });
}

/**
 * Runs every step in order against `store`, or a new temporary directory that is kept afterwards. A
 * PostgreSQL store has no data directory for the demo's backup: it goes to a new temporary directory,
 * kept too.
 *
 * @throws {ExitError} with exit code 1 when any check failed.
 */
export async function runDemo(given: StoreSource | undefined, steps?: readonly DemoStep[]): Promise<void> {
  // Loaded here, with the runtime they open, rather than by every command's start.
  steps ??= (await import('./demoSteps.js')).DEMO_STEPS;
  const styles = stdoutStyles();
  const store = given ?? { dataDir: mkdtempSync(join(tmpdir(), 'llmstate-demo-')) };
  const kept = styles.dim('(new temporary directory, kept after the demo)');
  printLine(styles.bold('llmstate demo'));
  let runtimeOptions = storeOptions(store);
  if (isPostgresStore(store)) {
    const backupDir = mkdtempSync(join(tmpdir(), 'llmstate-demo-backups-'));
    runtimeOptions = { ...runtimeOptions, backups: { dir: backupDir } };
    printLine(`postgres: ${escapeForDisplay(describeStore(store))}`);
    printLine(`backups: ${escapeForDisplay(backupDir)} ${kept}`);
  } else {
    printLine(`data dir: ${escapeForDisplay(store.dataDir)} ${given === undefined ? kept : styles.dim('(from --data-dir)')}`);
  }

  const ctx = createContext(store, runtimeOptions, styles);
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
  const llmstate = `llmstate ${escapeForDisplay(storeArguments(store))}`;
  printLine(`  ${llmstate} keys agent:researcher`);
  printLine(`  ${llmstate} get agent:researcher topic --pretty`);
  printLine(`  ${llmstate} stats`);
  printLine(`  ${llmstate} agents list`);
  printLine(`  ${llmstate} agents show ada`);
  printLine(`  ${llmstate} hooks history`);
  if (ctx.hookCorrelationId !== undefined) printLine(`  ${llmstate} timeline ${escapeForDisplay(shellQuote(ctx.hookCorrelationId))} --format mermaid`);
  if (isPostgresStore(store) && redactPostgresUrl(store.postgres) !== store.postgres) printLine(styles.dim('  (*** stands for the password, which llmstate never prints)'));
}

/** The global options that name `store`, as a user would type them. */
function storeArguments(store: StoreSource): string {
  if (!isPostgresStore(store)) return `--data-dir ${shellQuote(store.dataDir)}`;
  const schema = store.schema === DEFAULT_PG_SCHEMA ? '' : ` --pg-schema ${store.schema}`;
  return `--postgres ${shellQuote(redactPostgresUrl(store.postgres))}${schema}`;
}

function createContext(store: StoreSource, runtimeOptions: RuntimeOptions, styles: Styles): DemoContext {
  return {
    store,
    runtimeOptions,
    freshStore: false,
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

import { deepStrictEqual } from 'node:assert/strict';
import { escapeForDisplay } from '../displayText.js';
import { createRuntime } from '../runtime.js';
import { Scope } from '../state/Scope.js';
import type { DemoStep } from './demoContext.js';
import { RESTORE_STEPS, SUPERVISION_STEPS } from './demoAgentSteps.js';
import { HOOK_STEPS } from './demoHookSteps.js';
import { BACKUP_STEPS } from './demoBackupSteps.js';
import { remember, write } from './demoWrites.js';
import { previewJson } from './output.js';
import { describeStore, isPostgresStore } from './storeSource.js';

const RESEARCHER = Scope.agent('researcher');
const WRITER = Scope.agent('writer');
const REVIEWER = Scope.agent('reviewer');
const WORKFLOW = Scope.workflow('report-42');
const TOPIC = { name: 'solid-state batteries', question: 'Which electrolytes are closest to mass production?' };

const openStore: DemoStep = {
  title: 'Open the store',
  async run(ctx) {
    ctx.rt = await createRuntime(ctx.runtimeOptions);
    ctx.freshStore = (await ctx.rt.stats()).lastCommitSeq === 0;
    const where = isPostgresStore(ctx.store) ? `PostgreSQL at ${describeStore(ctx.store)}` : `LevelDB at ${ctx.rt.location}`;
    ctx.say(`${escapeForDisplay(where)}${ctx.freshStore ? ' (new)' : ' (existing; the demo adds its keys)'}`);
  },
};

const writeAgents: DemoStep = {
  title: 'Give three agents their own state',
  async run(ctx) {
    await write(ctx, RESEARCHER, 'topic', TOPIC);
    await write(ctx, RESEARCHER, 'messages', [
      { role: 'user', content: `Research: ${TOPIC.question}` },
      { role: 'assistant', content: 'Starting with recent reviews of sulfide and oxide electrolytes.' },
    ]);
    await write(ctx, RESEARCHER, 'progress', { sourcesRead: 0, notes: 0 });
    await write(ctx, WRITER, 'topic', TOPIC);
    await write(ctx, WRITER, 'messages', [{ role: 'user', content: 'Draft a two-page brief once research is done.' }]);
    await write(ctx, WRITER, 'progress', { drafts: 0, words: 0 });
    await write(ctx, REVIEWER, 'topic', TOPIC);
    await write(ctx, REVIEWER, 'progress', { reviews: 0 });
    ctx.say('each write resolved only once it was committed to disk');
  },
};

const transaction: DemoStep = {
  title: 'Record research progress in one transaction',
  async run(ctx) {
    const { state } = ctx.runtime();
    const changes = await state.transaction(RESEARCHER, async (tx) => {
      const progress = (await tx.get('progress')) as { sourcesRead: number; notes: number };
      const messages = (await tx.get('messages')) as unknown[];
      const next = { sourcesRead: progress.sourcesRead + 4, notes: progress.notes + 2 };
      const notes = ['Sulfides: highest conductivity, moisture-sensitive.', 'Oxides: stable, hard to process.'];
      const reply = { role: 'assistant', content: 'Read 4 sources; 2 notes taken.' };
      tx.set('progress', next);
      tx.set('notes', notes);
      tx.set('messages', [...messages, reply]);
      return { progress: next, notes, messages: [...messages, reply] };
    });
    for (const [key, value] of Object.entries(changes)) {
      remember(ctx, RESEARCHER, key, value);
      ctx.say(`${ctx.styles.cyan(`${RESEARCHER} ${key}`)} = ${previewJson(value)}`);
    }
    ctx.say('all three writes committed together, in one batch: all or nothing');
  },
};

const correlatedHandOff: DemoStep = {
  title: 'Hand the research to the writer, under one correlation id',
  async run(ctx) {
    const { correlationId } = await ctx.runtime().correlate(async () => {
      await write(ctx, WRITER, 'brief', { from: 'researcher', notes: 2, due: 'end of day' });
      await write(ctx, WORKFLOW, 'status', 'drafting');
    });
    ctx.say(`correlation id: ${ctx.styles.bold(correlationId)}`);
    ctx.say('both writes are recorded in the event log under that id');
  },
};

const sharedScopes: DemoStep = {
  title: 'Write global, workflow and step state',
  async run(ctx) {
    await write(ctx, Scope.global(), 'config.model', { name: 'example-model', temperature: 0.2 });
    await write(ctx, Scope.global(), 'config.maxTurns', 12);
    await write(ctx, WORKFLOW, 'plan', ['research', 'write', 'review']);
    await write(ctx, Scope.step('report-42', 'research'), 'result', { sources: 4, confidence: 'medium' });
    await write(ctx, Scope.step('report-42', 'write'), 'status', 'pending');
  },
};

const closeStore: DemoStep = {
  title: 'Close the runtime',
  async run(ctx) {
    const running = [...ctx.agents.keys()];
    await ctx.runtime().close();
    ctx.rt = undefined;
    ctx.agents.clear();
    if (running.length > 0) ctx.say(`agents ${running.join(' and ')} saved with their machine snapshots, then stopped`);
    ctx.say(`mailboxes drained, store closed, ${isPostgresStore(ctx.store) ? 'scope leases given up' : 'LevelDB lock released'}`);
  },
};

const reopenAndVerify: DemoStep = {
  title: 'Reopen the store and read everything back',
  async run(ctx) {
    ctx.rt = await createRuntime(ctx.runtimeOptions);
    let compared = 0;
    for (const [text, { scope, values: expected }] of ctx.written) {
      const problems: string[] = [];
      const keys = await ctx.rt.state.listKeys(scope);
      const wantKeys = [...expected.keys()].sort(byCodePoint);
      const missing = wantKeys.filter((key) => !keys.includes(key));
      // On a store of its own the demo knows every key; on a reused one it checks only its own.
      if (missing.length > 0) problems.push(`listKeys lacks ${missing.join(', ')}`);
      else if (ctx.freshStore && !sameList(keys, wantKeys)) problems.push(`listKeys returned ${keys.join(', ')}`);
      for (const [key, value] of expected) {
        const problem = differs(await ctx.rt.state.get(scope, key), value);
        if (problem !== undefined) problems.push(`${key} ${problem}`);
        compared++;
      }
      ctx.check(problems.length === 0, `${ctx.styles.cyan(text)}: ${wantKeys.join(', ')}${problems.length === 0 ? '' : ` — ${problems.join('; ')}`}`);
    }
    ctx.say(`${compared} values read back, each deepStrictEqual to what was written`);
  },
};

/** Runs in this order. */
export const DEMO_STEPS: readonly DemoStep[] = [
  openStore,
  writeAgents,
  transaction,
  correlatedHandOff,
  sharedScopes,
  ...HOOK_STEPS,
  closeStore,
  reopenAndVerify,
  ...SUPERVISION_STEPS,
  closeStore,
  ...RESTORE_STEPS,
  ...BACKUP_STEPS,
];

function differs(actual: unknown, expected: unknown): string | undefined {
  try {
    deepStrictEqual(actual, expected);
    return undefined;
  } catch {
    return `differs: read ${actual === undefined ? 'nothing' : previewJson(actual)}, wrote ${previewJson(expected)}`;
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i]);
}

/** Key order is UTF-8 byte order, which is code point order, not JS string order. */
function byCodePoint(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

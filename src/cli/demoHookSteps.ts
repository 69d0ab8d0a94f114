import { extname } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { TimelineNode } from '../events/timeline.js';
import { Scope } from '../state/Scope.js';
import type { DemoContext, DemoStep } from './demoContext.js';
import { withTimeout } from './demoAgentSteps.js';
import { remember, write } from './demoWrites.js';
import { formatHistory } from './hookCommands.js';
import { previewJson } from './output.js';

const WRITER = Scope.agent('writer');
const REVIEWER = Scope.agent('reviewer');
const HOOK_NAME = 'review-request';
const DRAFT = { text: 'Sulfide electrolytes lead on conductivity; oxides on stability. Neither is ready for mass production.', version: 1 };

/**
 * The demo's hook module, beside this file: `demoHook.js` in `dist/`, `demoHook.ts` when the sources run
 * under tsx (the pool then starts its workers with tsx too).
 */
export const DEMO_HOOK_MODULE = new URL(`./demoHook${extname(new URL(import.meta.url).pathname)}`, import.meta.url);

function correlationOf(ctx: DemoContext): string {
  if (ctx.hookCorrelationId === undefined) throw new Error('The demo has no hook correlation id at this step');
  return ctx.hookCorrelationId;
}

const registerHook: DemoStep = {
  title: `Register a hook, ${HOOK_NAME}, that runs in a worker thread`,
  async run(ctx) {
    const info = await ctx.runtime().hooks.register({
      name: HOOK_NAME,
      module: DEMO_HOOK_MODULE,
      on: ['state.set'],
      filter: { scopeKinds: ['agent'], keyPrefix: 'draft' },
    });
    ctx.say(`rt.hooks.register({ name: '${HOOK_NAME}', module: './demoHook.js', on: ['state.set'], filter: { scopeKinds: ['agent'], keyPrefix: 'draft' } })`);
    ctx.say('when an agent writes a draft, the hook returns an action: a follow-up write asking the reviewer to read it');
    ctx.check(info.breaker === 'closed' && info.disabled === undefined, `registered: breaker ${info.breaker}, ${info.pending} pending; the module loaded in a worker`);
  },
};

const writeDraft: DemoStep = {
  title: 'Write a draft; the hook reacts with a write of its own',
  async run(ctx) {
    const rt = ctx.runtime();
    const { correlationId } = await rt.correlate(() => write(ctx, WRITER, 'draft', DRAFT));
    ctx.hookCorrelationId = correlationId;
    ctx.say(`correlation id: ${ctx.styles.bold(correlationId)}`);
    ctx.say('the write was acknowledged without waiting for the hook: its outbox entry committed in the same batch');
    await withTimeout(rt.hooks.idle(), 'the hook did not run');
    ctx.say('await rt.hooks.idle(): the hook has run and its action is committed');

    const inbox = await rt.state.get(REVIEWER, 'inbox');
    const expected = { review: `${WRITER} draft`, words: DRAFT.text.split(/\s+/).length, requestedBy: HOOK_NAME };
    ctx.check(isDeepStrictEqual(inbox, expected), `${ctx.styles.cyan(`${REVIEWER} inbox`)} = ${previewJson(inbox, 100)}, written by the hook`);
    if (inbox !== undefined) remember(ctx, REVIEWER, 'inbox', inbox);

    const history = await rt.hooks.history({ correlationId, newestFirst: true });
    ctx.say(`rt.hooks.history({ correlationId }):`);
    for (const line of formatHistory(history, ctx.styles)) ctx.say(`  ${line}`);
    const ran = history[0];
    ctx.check(
      history.length === 1 && ran.hookName === HOOK_NAME && ran.status === 'succeeded',
      `one execution, recorded with its input and result: llmstate hooks replay ${ran?.executionId ?? '<id>'} runs it again`,
    );
  },
};

const followTimeline: DemoStep = {
  title: 'Follow that correlation through the timeline',
  async run(ctx) {
    const rt = ctx.runtime();
    const correlationId = correlationOf(ctx);
    ctx.say(`rt.events.exportTimeline(correlationId, 'text'):`);
    for (const line of (await rt.events.exportTimeline(correlationId, 'text')).split('\n')) ctx.say(`  ${line}`);

    const [root] = (await rt.events.timeline(correlationId)).roots;
    const execution = root?.children[0];
    const action = execution?.children[0];
    const shape =
      isEvent(root, WRITER, 'draft') &&
      root.children.length === 1 &&
      execution?.type === 'execution' &&
      execution.execution.hookName === HOOK_NAME &&
      isEvent(action, REVIEWER, 'inbox') &&
      action.event.causationId === root.id;
    ctx.check(shape, 'the draft write → the hook execution it triggered → the action write, whose causationId is the draft');
  },
};

function isEvent(node: TimelineNode | undefined, scope: Scope, key: string): node is Extract<TimelineNode, { type: 'event' }> {
  return node?.type === 'event' && node.event.kind === 'state.set' && node.event.scope === scope.toString() && node.event.key === key;
}

/** Steps that run while the store is open, after the state steps: a hook, its history and the timeline. */
export const HOOK_STEPS: readonly DemoStep[] = [registerHook, writeDraft, followTimeline];

import { isDeepStrictEqual } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AgentHandle } from '../agents/Agents.js';
import { isLlmStateError } from '../errors.js';
import type { EventKind } from '../events/eventKinds.js';
import type { LoggedEvent } from '../events/eventLog.js';
import { createRuntime, type Runtime } from '../runtime.js';
import type { ChildInfo } from '../../supervisors/Supervisor.js';
import { AGENT_EVENT_KINDS, summarizeMachine } from './agentCommands.js';
import type { DemoContext, DemoStep } from './demoContext.js';
import { demoChatMachine, type ChatContext } from './demoChatMachine.js';
import { previewJson } from './output.js';

const TEAM = { id: 'team', strategy: 'one_for_one', intensity: 3, period: 5000 } as const;
const ADA = 'ada';
const BOB = 'bob';
const CRASHING_TEXT = 'Compare all twelve papers';

/** How long a step waits for the supervisor to act, or for its events to reach the log, before failing. */
const WAIT_MS = 5000;

/**
 * Sends a USER_MESSAGE, prints it with the reply, and returns the machine's context after it.
 *
 * @throws {Error} when the agent has not answered within `WAIT_MS`, so that a stuck agent fails the demo
 *   instead of hanging it.
 */
async function talk(ctx: DemoContext, id: string, text: string): Promise<ChatContext> {
  const reply = await withTimeout(handle(ctx, id).send({ type: 'USER_MESSAGE', text }), `${id} did not answer "${text}"`);
  ctx.say(`${ctx.styles.cyan(id)} ← "${text}"  → ${previewJson(reply.context)}`);
  return reply.context as ChatContext;
}

/** Settles as `promise` does, or rejects naming `what` once `WAIT_MS` have passed, so a demo step never hangs. */
export async function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${WAIT_MS} ms`)), WAIT_MS);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function handle(ctx: DemoContext, id: string): AgentHandle {
  const agent = ctx.agents.get(id);
  if (agent === undefined) throw new Error(`The demo has no handle for agent ${id} at this step`);
  return agent;
}

function describeChildren(children: readonly ChildInfo[]): string {
  return children.map((child) => `${child.id} ${child.status} (restarts ${child.restarts})`).join(', ');
}

function childOf(rt: Runtime, id: string): ChildInfo | undefined {
  return rt.supervisors.whichChildren(TEAM.id).find((child) => child.id === id);
}

/** The agent's lifecycle, supervision and fault events logged by this run of the demo, oldest first. */
async function eventsOfThisRun(ctx: DemoContext, id: string): Promise<LoggedEvent[]> {
  const events = await ctx.runtime().events.query({ agentId: id, kinds: AGENT_EVENT_KINDS, limit: Number.MAX_SAFE_INTEGER });
  return events.filter((event) => event.seq > ctx.agentsFromSeq);
}

/** Polls `condition` until it holds or `WAIT_MS` have passed; the supervisor acts on its own schedule. */
async function waitFor(condition: () => boolean | Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    if (await condition()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(10);
  }
}

const startTeam: DemoStep = {
  title: 'Start a supervisor, team, with two chat agents under it',
  async run(ctx) {
    const rt = ctx.runtime();
    const leftovers: string[] = [];
    for (const id of [ADA, BOB]) if (await rt.agents.delete(id)) leftovers.push(id);
    if (leftovers.length > 0) ctx.say(`deleted ${leftovers.join(' and ')}, left by an earlier run of the demo`);
    ctx.agentsFromSeq = (await rt.stats()).lastCommitSeq;

    const team = rt.supervisors.create(TEAM);
    await team.ready();
    ctx.say(`rt.supervisors.create({ id: 'team', strategy: 'one_for_one', intensity: 3, period: 5000 })`);
    for (const id of [ADA, BOB]) {
      ctx.agents.set(id, await rt.agents.spawn({ id, type: 'chat', machine: demoChatMachine, supervisor: TEAM.id }));
      ctx.say(`rt.agents.spawn({ id: '${id}', type: 'chat', machine, supervisor: 'team' })`);
    }
    ctx.say('the chat machine counts USER_MESSAGEs and keeps the last text in its context');
    const children = team.whichChildren();
    const expected = [ADA, BOB].map((id) => ({ id, type: 'worker', status: 'running', restarts: 0 }));
    ctx.check(isDeepStrictEqual(children, expected), `team.whichChildren(): ${describeChildren(children)}`);
  },
};

const talkToTeam: DemoStep = {
  title: 'Send them a few messages',
  async run(ctx) {
    await talk(ctx, ADA, 'Find sources on sulfide electrolytes');
    const ada = await talk(ctx, ADA, 'Summarise them in two lines');
    const bob = await talk(ctx, BOB, 'Check the brief for jargon');
    ctx.check(ada.count === 2 && bob.count === 1, `ada has counted ${ada.count} messages, bob ${bob.count}`);
    ctx.say("each message's machine snapshot was saved with the agent's record (persist: 'every-message')");
  },
};

const crashAda: DemoStep = {
  title: 'Crash ada with the fault injector',
  async run(ctx) {
    ctx.runtime().faults.crashActor(ADA);
    ctx.say(`rt.faults.crashActor('${ADA}'): ada's next message crashes it, as if its machine had thrown`);
    ctx.say(`${ctx.styles.cyan(ADA)} ← "${CRASHING_TEXT}"`);
    try {
      const reply = await withTimeout(handle(ctx, ADA).send({ type: 'USER_MESSAGE', text: CRASHING_TEXT }), `${ADA} did not answer`);
      ctx.check(false, `the message was not rejected: ${previewJson(reply.context)}`);
    } catch (error) {
      const code = isLlmStateError(error) ? error.code : undefined;
      ctx.check(code === 'ACTOR_CRASHED', `rejected with error[${code ?? '?'}]: ${error instanceof Error ? error.message : String(error)}`);
    }
  },
};

const watchRestart: DemoStep = {
  title: 'Watch team restart ada, with its state reloaded from the store',
  async run(ctx) {
    const rt = ctx.runtime();
    const restarted = await waitFor(() => {
      const ada = childOf(rt, ADA);
      return ada?.status === 'running' && ada.restarts === 1;
    });
    ctx.check(restarted, `team.whichChildren(): ${describeChildren(rt.supervisors.whichChildren(TEAM.id))}`);
    const restart = (await eventsOfThisRun(ctx, ADA)).find((event) => event.kind === 'agent.restarted');
    ctx.check(restart !== undefined, `event agent.restarted ${previewJson(restart?.data ?? null)}: a new incarnation of ada loaded its record and machine snapshot`);

    const context = await talk(ctx, ADA, 'Are you still there?');
    ctx.check(
      context.count === 3 && context.last === 'Are you still there?',
      `count ${context.count}: the 2 counted before the crash came back from the store; the crashing message was never counted`,
    );
  },
};

const afterTheCrash: DemoStep = {
  title: 'What the crash left behind, and what it did not touch',
  async run(ctx) {
    const rt = ctx.runtime();
    const letters = await rt.supervisors.deadLetters({ agentId: ADA });
    const letter = letters[0];
    ctx.say("rt.supervisors.deadLetters({ agentId: 'ada' }):");
    ctx.check(
      letters.length === 1 && letter.event.text === CRASHING_TEXT && !letter.poison,
      letters.length === 0 ? 'no dead letter' : letters.map((l) => `dead letter ${l.event.type} "${String(l.event.text)}": ${l.error}`).join('; '),
    );

    const bob = childOf(rt, BOB);
    const bobEvents = (await eventsOfThisRun(ctx, BOB)).map((event) => event.kind);
    const untouched = bob?.status === 'running' && bob.restarts === 0 && !bobEvents.includes('supervisor.child_terminated') && !bobEvents.includes('agent.restarted');
    ctx.check(untouched, `bob kept running (one_for_one restarts only the child that crashed): restarts ${bob?.restarts ?? '?'}`);
    const context = await talk(ctx, BOB, 'Any jargon left?');
    ctx.check(context.count === 2, `bob's count went on from 1 to ${context.count}`);

    // Supervisor events are logged in the background; wait for the last one of the restart.
    await waitFor(async () => (await eventsOfThisRun(ctx, ADA)).some((event) => event.kind === 'supervisor.child_restarted'));
    const timeline = (await eventsOfThisRun(ctx, ADA)).filter((event) => event.kind !== 'agent.spawned' && event.kind !== 'supervisor.child_started');
    ctx.say(`ada's events since the fault, from rt.events.query({ agentId: 'ada', kinds: [${AGENT_EVENT_KINDS.map((kind) => `'${kind}'`).join(', ')}] }):`);
    const width = Math.max(0, ...timeline.map((event) => event.kind.length));
    for (const event of timeline) ctx.say(`  ${event.kind.padEnd(width)}  ${ctx.styles.dim(previewJson(event.data ?? {}, 70))}`);
    const kinds = new Set(timeline.map((event) => event.kind));
    const expected: EventKind[] = ['fault.injected', 'agent.crashed', 'supervisor.child_exited', 'agent.restarted', 'supervisor.child_restarted'];
    ctx.check(expected.every((kind) => kinds.has(kind)), `the timeline holds ${expected.join(', ')}`);
  },
};

/** Steps that run while the store is open, after the state steps: supervision and a crash. */
export const SUPERVISION_STEPS: readonly DemoStep[] = [startTeam, talkToTeam, crashAda, watchRestart, afterTheCrash];

const restoreAda: DemoStep = {
  title: 'Reopen the store and restore ada',
  async run(ctx) {
    ctx.rt = await createRuntime(ctx.runtimeOptions);
    const rt = ctx.rt;
    const stored = (await rt.agents.list()).filter((agent) => agent.id === ADA || agent.id === BOB);
    ctx.say('rt.agents.list():');
    for (const agent of stored) {
      ctx.say(`  ${agent.id}: ${agent.status} as saved, live ${agent.live}, messages ${agent.messages}, restarts ${agent.restarts}`);
    }
    const ada = stored.find((agent) => agent.id === ADA);
    ctx.check(
      stored.length === 2 && stored.every((agent) => !agent.live) && ada?.messages === 3 && ada.restarts === 1,
      'both agents are stored, none runs yet; ada has 3 messages and 1 restart on record',
    );

    rt.supervisors.create(TEAM);
    ctx.say('supervisors are code, not data: the program creates team again');
    const handle = await rt.agents.restore(ADA, { machine: demoChatMachine });
    ctx.agents.set(ADA, handle);
    const { supervisor } = handle.status();
    const context = summarizeMachine(handle.record().machineSnapshot)?.context;
    ctx.say(`rt.agents.restore('ada', { machine }) → under ${supervisor}, as its record says`);
    ctx.check(isDeepStrictEqual(context, { count: 3, last: 'Are you still there?' }), `its machine context came back: ${previewJson(context)}`);
    const after = await talk(ctx, ADA, 'Welcome back');
    ctx.check(after.count === 4, `and it carries on counting: ${after.count}`);
  },
};

/** Steps that run after the store has been closed once more. */
export const RESTORE_STEPS: readonly DemoStep[] = [restoreAda];

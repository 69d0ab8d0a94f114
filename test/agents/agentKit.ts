/**
 * Helpers for the agent tests. Nothing here sleeps: waiting is done by letting the event loop turn until
 * a condition a user could check holds, with a bound, so that a test that waits for something that
 * never happens fails instead of hanging.
 */
import type { AgentReply, Runtime } from '../../src/index.js';
import type { ChatContext } from '../fixtures/chatMachine.js';

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Lets the event loop turn until `ready()` holds; throws after `turns` turns. */
export async function until(ready: () => boolean, what: string, turns = 20_000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (ready()) return;
    await turn();
  }
  throw new Error(`Gave up waiting for ${what}`);
}

/**
 * True when the tree has nothing left to do: every supervisor runs, no child is being restarted, and
 * every agent in `agentIds` (default: all running in this process) is running or paused.
 */
export function isSettled(rt: Runtime, agentIds: string[] = rt.agents.liveIds()): boolean {
  for (const supervisor of rt.supervisors.list()) {
    if (supervisor.status !== 'running') return false;
    if (rt.supervisors.whichChildren(supervisor.id).some((child) => child.status === 'restarting')) return false;
  }
  return agentIds.every((id) => {
    const state = rt.agents.get(id).status().state;
    return state === 'running' || state === 'paused';
  });
}

/** Waits until the supervisors have finished restarting (see {@link isSettled}). */
export function untilSettled(rt: Runtime, agentIds?: string[]): Promise<void> {
  return until(() => isSettled(rt, agentIds), 'the supervisors to finish restarting');
}

/**
 * Whether `promise` has settled once the event loop has turned `turns` times: enough for any message
 * of an in-memory runtime to be processed. Used to show that a message waits (or hangs).
 */
export async function settlesWithin(promise: Promise<unknown>, turns = 500): Promise<boolean> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let i = 0; i < turns && !settled; i++) await turn();
  return settled;
}

/** The texts a chat machine has recorded, from a reply. */
export function textsOf(reply: AgentReply): string[] {
  return (reply.context as ChatContext).texts;
}

/** The texts recorded in a stored machine snapshot (`AgentRecord.machineSnapshot`). */
export function snapshotTexts(snapshot: unknown): string[] {
  return ((snapshot as { context: ChatContext }).context).texts;
}

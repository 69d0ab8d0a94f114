/**
 * The steps of LG (P9): what a LangGraph agent loop hands its checkpointer, built once and replayed
 * against every saver.
 *
 * Each step is one `put` and one `putWrites`, as Pregel makes them after a superstep:
 * - `messages` grows by one message (user and assistant in turn, about 120 B of JSON each: plain
 *   `{ role, content, id }`, or with `langchain` HumanMessage and AIMessage objects, which the serde
 *   writes as constructor records and builds again on reading), or, with `window`, keeps only the last
 *   `window` of them (a trimmed conversation);
 * - `turn` is bumped every step, `route` changes every third step, `profile` is written once at step 0;
 * - the channels a step updates all get the next version after the highest one (integers, as
 *   `BaseCheckpointSaver.getNextVersion` makes them), and `newVersions` holds only those channels;
 * - `versions_seen` records what the `agent` node saw, metadata is `{ source, step, parents }`;
 * - the `putWrites` is the next task's one or two writes (a message, and every other step a route).
 */
import { AIMessage, HumanMessage, type BaseMessage } from '@langchain/core/messages';
import type { ChannelVersions, Checkpoint, CheckpointMetadata, PendingWrite } from '@langchain/langgraph-checkpoint';
import { rng } from './harness.js';

export interface LgStep {
  checkpoint: Checkpoint;
  metadata: CheckpointMetadata;
  newVersions: ChannelVersions;
  /** The checkpoint this one follows, or undefined for the first. */
  parentId: string | undefined;
  writes: PendingWrite[];
  taskId: string;
}

const WORDS = (
  'the a user assistant tool call result weather search plan step agent memory note task answer ' +
  'question context token model prompt reply summary file code error retry budget cost time city'
).split(' ');

function sentence(random: () => number, length: number): string {
  let text = '';
  while (text.length < length) text += `${WORDS[(random() * WORDS.length) | 0]} `;
  return text.trimEnd();
}

export interface LgStepsOptions {
  /** Keep only the last `window` messages. */
  window?: number;
  /** LangChain message objects instead of plain `{ role, content, id }`. @default false */
  langchain?: boolean;
  seed?: number;
}

type Message = BaseMessage | { role: string; content: string; id: string };

function message(i: number, random: () => number, langchain: boolean): Message {
  const content = sentence(random, 90);
  const id = `m${i}`;
  if (!langchain) return { role: i % 2 === 0 ? 'user' : 'assistant', content, id };
  return i % 2 === 0 ? new HumanMessage({ content, id }) : new AIMessage({ content, id });
}

/**
 * A checkpoint id that sorts like uuid6 (time-ordered, fixed width) and is the same in every run, so
 * the steps can be replayed on many threads.
 */
export function checkpointId(step: number): string {
  const hex = step.toString(16).padStart(12, '0');
  return `1f0a0000-0000-6000-8000-${hex}`;
}

/** `count` steps of one thread, with a growing message list (or one kept to the last `window`). */
export function lgSteps(count: number, options: LgStepsOptions = {}): LgStep[] {
  const random = rng(options.seed ?? 7);
  const langchain = options.langchain === true;
  const steps: LgStep[] = [];
  const values: Record<string, unknown> = {};
  const versions: Record<string, number> = {};
  let messages: Message[] = [];
  let parentId: string | undefined;
  for (let step = 0; step < count; step++) {
    messages = [...messages, message(step, random, langchain)];
    if (options.window !== undefined && messages.length > options.window) messages = messages.slice(-options.window);
    const changed: Record<string, unknown> = { messages, turn: step };
    if (step % 3 === 0) changed.route = step % 2 === 0 ? 'agent' : 'tools';
    if (step === 0) changed.profile = { name: 'researcher', locale: 'en-GB', tools: ['search', 'calculator'] };
    const next = Math.max(0, ...Object.values(versions)) + 1;
    const newVersions: ChannelVersions = {};
    for (const [channel, value] of Object.entries(changed)) {
      values[channel] = value;
      versions[channel] = next;
      newVersions[channel] = next;
    }
    const id = checkpointId(step);
    steps.push({
      checkpoint: {
        v: 4,
        id,
        ts: new Date(Date.UTC(2026, 0, 1, 0, 0, step)).toISOString(),
        channel_values: { ...values },
        channel_versions: { ...versions },
        versions_seen: { agent: { messages: versions.messages - (step > 0 ? 1 : 0), turn: Math.max(0, versions.turn - 1) } },
      },
      metadata: { source: 'loop', step, parents: {} },
      newVersions,
      parentId,
      writes: [['messages', [message(step + 1, random, langchain)]], ...(step % 2 === 0 ? [] : [['route', 'agent'] as PendingWrite])],
      taskId: `task-${step.toString(16).padStart(8, '0')}`,
    });
    parentId = id;
  }
  return steps;
}

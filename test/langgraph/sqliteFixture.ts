/**
 * A real SqliteSaver database, written by running a small StateGraph: a `plan` node fans out to `draft`
 * and to `research`, a subgraph that asks for approval with interrupt(). So the file holds subgraph
 * namespaces, and, on an interrupted thread, `draft`'s pending writes beside the interrupt.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { AIMessage, HumanMessage } from '@langchain/core/messages';
import { Annotation, Command, END, interrupt, MessagesAnnotation, START, StateGraph } from '@langchain/langgraph';
import type { BaseCheckpointSaver } from '@langchain/langgraph-checkpoint';
import { SqliteSaver } from '@langchain/langgraph-checkpoint-sqlite';

const State = Annotation.Root({
  ...MessagesAnnotation.spec,
  notes: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
  approved: Annotation<string | undefined>(),
});

/** How often each node ran in this process, to see what a resumed run runs again. */
export const runs = { draft: 0, lookup: 0 };

function research() {
  return new StateGraph(State)
    .addNode('lookup', () => {
      runs.lookup++;
      return { notes: ['lookup: rain likely'] };
    })
    .addNode('ask', () => ({ approved: interrupt<{ question: string }, string>({ question: 'publish the forecast?' }) }))
    .addEdge(START, 'lookup')
    .addEdge('lookup', 'ask')
    .addEdge('ask', END)
    .compile();
}

/** The graph, compiled on `checkpointer`. */
export function forecastGraph(checkpointer: BaseCheckpointSaver) {
  return new StateGraph(State)
    .addNode('plan', () => ({ messages: [new AIMessage({ content: 'I will draft and research.', id: 'plan-1' })] }))
    .addNode('draft', () => {
      runs.draft++;
      return { notes: ['draft: cloudy'] };
    })
    .addNode('research', research())
    .addNode('finish', (state) => ({ messages: [new AIMessage({ content: `forecast ${state.approved === 'yes' ? 'published' : 'held'}`, id: 'finish-1' })] }))
    .addEdge(START, 'plan')
    .addEdge('plan', 'draft')
    .addEdge('plan', 'research')
    .addEdge(['draft', 'research'], 'finish')
    .addEdge('finish', END)
    .compile({ checkpointer });
}

export const input = { messages: [new HumanMessage({ content: 'What will the weather be?', id: 'ask-1' })] };

export const config = (threadId: string) => ({ configurable: { thread_id: threadId } });

/** Resumes an interrupted thread with `answer`. */
export function resume(answer: string) {
  return new Command<string, Record<string, unknown>, never>({ resume: answer });
}

/**
 * Writes `<dir>/checkpoints.sqlite`: thread `interrupted` stops at the interrupt; `done` is resumed to
 * the end; `user/42 ü` (a thread id with a slash, a space and Unicode) stops at the interrupt too.
 */
export async function writeSqliteFixture(dir: string): Promise<string> {
  const file = join(dir, 'checkpoints.sqlite');
  const saver = SqliteSaver.fromConnString(file);
  try {
    const graph = forecastGraph(saver);
    await graph.invoke(input, config('interrupted'));
    await graph.invoke(input, config('done'));
    await graph.invoke(resume('yes'), config('done'));
    await graph.invoke(input, config('user/42 ü'));
  } finally {
    saver.db.close();
  }
  return file;
}

/** better-sqlite3, as SqliteSaver loads it, to damage or inspect a file. */
export const Database = createRequire(import.meta.url)('better-sqlite3') as new (file: string) => {
  exec(sql: string): unknown;
  prepare(sql: string): { run(...params: unknown[]): unknown; all(...params: unknown[]): unknown[] };
  close(): unknown;
};

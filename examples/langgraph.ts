/**
 * LangGraph on llmstate: a graph stops for a human's approval, the process running it is killed with
 * SIGKILL, and a new process resumes the thread where it stopped. Run: node --import tsx examples/langgraph.ts [dataDir]
 *
 * The file runs twice: as the parent, which starts itself again as the child (`… [dataDir] child`), waits
 * for the graph to stop at `interrupt()`, kills the child, and resumes the thread in its own runtime.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Annotation, Command, END, INTERRUPT, START, StateGraph, interrupt, isInterrupted } from '@langchain/langgraph';
import { createRuntime, Scope, type LoggedEvent, type Runtime } from '../src/index.js';
import { LlmStateSaver, LlmStateStore } from '../src/langgraph/index.js';

const dataDir = process.argv[2] ?? mkdtempSync(join(tmpdir(), 'llmstate-langgraph-'));
// `sync`: LangGraph stores each checkpoint before the next step runs (its default, `async`, saves while the
// next step already runs; see docs/langgraph.md), so the events below read in step order.
const thread = { configurable: { thread_id: 'report-7' }, durability: 'sync' as const };

const Report = Annotation.Root({
  topic: Annotation<string>(),
  notes: Annotation<string[]>({ reducer: (notes, more) => notes.concat(more), default: () => [] }),
  approvedBy: Annotation<string | undefined>(),
});

/** Deterministic nodes, no model and no network: research, a human's approval, then publishing with a memory. */
function reportGraph(rt: Runtime) {
  return new StateGraph(Report)
    .addNode('research', ({ topic }) => ({ notes: [`${topic} conduct best`, `oxides are stable`] }))
    .addNode('approve', ({ notes }) => {
      // Stops the run here; the value given to `Command({ resume })` is what `interrupt` returns next time.
      const answer = interrupt({ question: `Publish ${notes.length} notes?` }) as { by: string };
      return { approvedBy: answer.by };
    })
    .addNode('publish', async ({ topic, notes, approvedBy }, config) => {
      await config.store!.put(['memories', approvedBy!], 'report-7', { topic, notes: notes.length });
      return { notes: ['published'] };
    })
    .addEdge(START, 'research')
    .addEdge('research', 'approve')
    .addEdge('approve', 'publish')
    .addEdge('publish', END)
    .compile({ checkpointer: new LlmStateSaver(rt), store: new LlmStateStore(rt) });
}

async function child(): Promise<void> {
  const rt = await createRuntime({ dataDir });
  // A hook on every checkpoint, in a worker: it keeps the thread's latest step in `workflow:report-7`.
  await rt.hooks.register({ name: 'progress', module: new URL('./hooks/checkpointProgress.mjs', import.meta.url), on: ['langgraph.checkpoint'] });
  const result = await reportGraph(rt).invoke({ topic: 'sulfides' }, thread);
  if (isInterrupted(result)) console.log(`child: stopped at ${JSON.stringify(result[INTERRUPT][0]?.value)}`);
  // Every checkpoint is durable once `invoke` returns; the parent kills this process while it waits.
  console.log('child: waiting for approval');
  setInterval(() => {}, 1 << 30);
}

/** Starts this file as the child, and kills it with SIGKILL once it waits for approval. */
function runChildUntilInterrupt(): Promise<NodeJS.Signals | null> {
  return new Promise((resolve, reject) => {
    const process_ = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), dataDir, 'child'], { stdio: ['ignore', 'pipe', 'inherit'] });
    createInterface({ input: process_.stdout }).on('line', (line) => {
      console.log(line);
      if (line === 'child: waiting for approval') process_.kill('SIGKILL');
    });
    process_.on('error', reject);
    process_.on('close', (_code, signal) => resolve(signal));
  });
}

function describeEvent(event: LoggedEvent): string {
  const data = event.data as { step?: number; source?: string; channels: string[] };
  if (event.kind === 'langgraph.checkpoint') return `${event.kind} step ${data.step} (${data.source})`;
  return `${event.kind} ${data.channels.join(', ')}`;
}

async function parent(): Promise<void> {
  console.log(`child ended by ${await runChildUntilInterrupt()}`);

  const rt = await createRuntime({ dataDir });
  const graph = reportGraph(rt);
  const before = await graph.getState(thread);
  console.log(`before: next ${before.next.join(', ')}, asking ${JSON.stringify(before.tasks[0]?.interrupts[0]?.value)}, notes ${JSON.stringify(before.values.notes)}`);

  const after = await graph.invoke(new Command({ resume: { by: 'ada' } }), thread);
  const state = await graph.getState(thread);
  console.log(`after: approved by ${after.approvedBy}, notes ${JSON.stringify(after.notes)}, next ${state.next.length === 0 ? 'none' : state.next.join(', ')}`);
  const memory = await new LlmStateStore(rt).get(['memories', 'ada'], 'report-7');
  console.log(`memory: ${JSON.stringify(memory?.value)}`);

  console.log('events, across both processes:');
  for (const event of await rt.events.query({ kinds: ['langgraph.*'] })) console.log(`  ${describeEvent(event)}`);

  // The hook registered in the child came back with the store, and misses no checkpoint across the kill.
  await rt.hooks.idle();
  console.log(`hook: latest ${JSON.stringify(await rt.state.get(Scope.workflow('report-7'), 'latest'))}, thread at step ${state.metadata?.step}`);
  await rt.close();
}

if (process.argv[3] === 'child') await child();
else await parent();

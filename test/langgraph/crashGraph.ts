/**
 * The graph of the LangGraph crash test: `ROUNDS` rounds of `plan`, then `WORKERS` workers in parallel (one
 * superstep of several tasks, each saved by its own `putWrites` as it finishes), then `join`. Deterministic:
 * the same input reaches the same final state, however often it is interrupted and resumed.
 */
import { Annotation, END, START, StateGraph, type BaseCheckpointSaver } from '@langchain/langgraph';

export const ROUNDS = 6;
export const WORKERS = 4;
export const THREAD = { configurable: { thread_id: 'crash/run:1' } };
export const INPUT = { round: 0, log: ['input'] };

const RunState = Annotation.Root({
  round: Annotation<number>(),
  log: Annotation<string[]>({ reducer: (log, more) => log.concat(more), default: () => [] }),
});

export type RunValues = typeof RunState.State;

/** Called as each node starts, with its name and the round it works on. */
export type OnRun = (node: string, round: number) => void;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function crashGraph(checkpointer: BaseCheckpointSaver, onRun: OnRun = () => {}) {
  const worker = (i: number) => async ({ round }: RunValues) => {
    onRun(`w${i}`, round);
    // Workers finish one after another, so a superstep's writes arrive spread out in time.
    await sleep(4 + 8 * i);
    return { log: [`w${i} ${round}`] };
  };
  return new StateGraph(RunState)
    .addNode('plan', ({ round }) => {
      onRun('plan', round);
      return { log: [`plan ${round}`] };
    })
    .addNode('w0', worker(0))
    .addNode('w1', worker(1))
    .addNode('w2', worker(2))
    .addNode('w3', worker(3))
    .addNode('join', ({ round }) => {
      onRun('join', round);
      return { round: round + 1, log: [`join ${round}`] };
    })
    .addEdge(START, 'plan')
    .addEdge('plan', 'w0')
    .addEdge('plan', 'w1')
    .addEdge('plan', 'w2')
    .addEdge('plan', 'w3')
    .addEdge(['w0', 'w1', 'w2', 'w3'], 'join')
    .addConditionalEdges('join', ({ round }) => (round < ROUNDS ? 'plan' : END), ['plan', END])
    .compile({ checkpointer });
}

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const child = fileURLToPath(new URL('../fixtures/backupCrashChild.ts', import.meta.url));
const root = fileURLToPath(new URL('../..', import.meta.url));

export interface ChildRequest {
  dataDir: string;
  mode: 'full' | 'incremental' | 'restore' | 'scopes';
  id?: string;
  scopes?: string[];
  pauseAt?: string;
}

/** Kill when the child prints this point, or this long after it first prints that one; in any case at `idle`. */
export type KillPlan = { atPoint: string } | { afterPoint: string; ms: number };

export interface ChildRun {
  /** The last point the child printed before the kill was sent. */
  landed: string;
  /** Every point printed, in order, including those printed after the kill was sent and before it struck. */
  points: string[];
  /** Live writes acknowledged (backup modes). */
  acks: number[];
  /** Each point the first time it was printed, with the milliseconds since `start`. */
  timeline: [point: string, ms: number][];
}

/**
 * A line kind of another child's own, and what follows it on the line; returns whether it took the line
 * (the kinds `phase` and `ack` are read here otherwise).
 */
export type LineReader = (kind: string, rest: string) => boolean;

/**
 * Runs the child until the kill plan fires, SIGKILLs it, and resolves once it is dead. Another child
 * `script` that prints the same lines (the migration crash test's, the LangGraph one's) takes its own
 * request, and `readLine` reads the lines of its own kinds.
 */
export function runAndKill(request: ChildRequest, plan: KillPlan): Promise<ChildRun>;
export function runAndKill(request: object, plan: KillPlan, script: string, readLine?: LineReader): Promise<ChildRun>;
export function runAndKill(request: object, plan: KillPlan, script = child, readLine?: LineReader): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const process_ = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(request)], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    const run: ChildRun = { landed: 'none', points: [], acks: [], timeline: [] };
    let stderr = '';
    let killed = false;
    let startedAt = 0;
    let timer: NodeJS.Timeout | undefined;
    const kill = () => {
      if (killed) return;
      killed = true;
      clearTimeout(timer);
      process_.kill('SIGKILL');
    };
    process_.stderr.on('data', (chunk) => (stderr += chunk));
    createInterface({ input: process_.stdout }).on('line', (line) => {
      const space = line.indexOf(' ');
      const [kind, rest] = space === -1 ? [line, ''] : [line.slice(0, space), line.slice(space + 1)];
      // Lines the child prints before a kill count even when the kill is already on its way.
      if (readLine?.(kind, rest) === true) return;
      const name = rest.split(' ')[0]!;
      if (kind === 'ack') {
        // Printed only once the write resolved, so it counts even when the kill is already on its way.
        run.acks.push(Number(name));
        return;
      }
      if (kind !== 'phase') return;
      run.points.push(name);
      if (killed) return;
      run.landed = name;
      if (name === 'start') startedAt = performance.now();
      if ('afterPoint' in plan && plan.afterPoint === name && timer === undefined) timer = setTimeout(kill, plan.ms);
      if (startedAt !== 0 && !run.points.slice(0, -1).includes(name)) run.timeline.push([name, performance.now() - startedAt]);
      if (('atPoint' in plan && plan.atPoint === name) || name === 'idle') kill();
    });
    // `close` comes after the last line printed before the kill has been read.
    process_.on('close', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL' && killed) resolve(run);
      else reject(new Error(`The child exited with ${code ?? signal} before it was killed (points: ${run.points.join(', ')}): ${stderr}`));
    });
  });
}

/**
 * Kill plans: first `done` (the calibration run, which records when each point was reached), then every
 * point, then `rounds` random kills: each picks a stretch between two consecutive points of the
 * calibration run and a moment in it, counted from when the killed run reaches the stretch's first point,
 * so that the short stretches get kills as well as the long ones, whatever the machine's speed.
 */
export function* killPlans(
  points: readonly string[],
  calibration: () => ChildRun['timeline'],
  random: () => number,
  { rounds, seed }: { rounds: number; seed: number },
): Generator<{ plan: KillPlan; pauseAt?: string; label: string }> {
  for (const point of ['done', ...points]) yield { plan: { atPoint: point }, pauseAt: point, label: `at ${point}` };
  for (let round = 0; round < rounds; round++) {
    const timeline = calibration();
    const stretch = Math.floor(random() * (timeline.length - 1));
    const [[from, start], [to, end]] = [timeline[stretch], timeline[stretch + 1]];
    const ms = Math.round(random() * (end - start));
    yield { plan: { afterPoint: from, ms }, label: `${ms} ms after ${from}, before ${to} in the calibration run (seed ${seed}, round ${round})` };
  }
}

import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { seededRandom } from '../../src/seededRandom.js';
import { PostgresProxy } from '../storage/postgresProxy.js';
import { postgresQuery, type PostgresTestSchema } from '../support/postgres.js';
import { readChaosAudit, startChaosAudit } from './chaosAudit.js';
import { keyName, type ChaosRecord, type Delivered, type ReadRecord, type WriteRecord } from './chaosCheck.js';
import { chaosFaults, type Fault } from './chaosFaults.js';
import { RuntimeProcess, type Answer } from './runtimeProcess.js';

export interface ChaosOptions {
  seed: number;
  /** How long the calls and the faults go on. */
  durationMs: number;
  ttlMs: number;
  processes: number;
  agents: number;
  keysPerAgent: number;
  readers: number;
  /** Callers that set every key of an agent in one transaction, over and over. */
  transactions: number;
  /** Chat agents (test/fixtures/chatMachine.ts), each sent messages over and over by a caller of its own. */
  chatAgents: number;
  faults: number;
  /** The share of calls sent to a process chosen at random instead of the agent's. */
  misrouted: number;
  /** How long a caller waits for an answer before it stops waiting and sends the key's next write elsewhere. */
  patienceMs: number;
}

interface Member {
  /** In start order: the order faults pick their victims by. */
  index: number;
  process: RuntimeProcess;
  /** What it reaches the database through. */
  proxy: PostgresProxy;
  dead: boolean;
  /** Stopped, or cut off from the database. */
  paused: boolean;
  /** A call to it went unanswered past the caller's patience, and none was answered since. */
  suspected: boolean;
}

/** An execution as the child's `history` answers it. */
interface ExecutionLine extends Omit<Delivered, 'by'> {
  status: string;
  eventIds: string[];
  pid: number | undefined;
}

/** What a run did besides its record: for the test's report. */
export interface ChaosSummary {
  faults: string[];
  outcomes: Record<string, number>;
  reads: number;
}

/**
 * Runs several runtime processes on one PostgreSQL schema while seeded faults happen, and calls them the way
 * an application's router would (single writes of each key, transactions over an agent's keys, reads): each agent's calls go to one process (by agent id, or to the owner that
 * SCOPE_LEASED named), a few go elsewhere, and a call that goes unanswered too long is given up on and the
 * key's next write sent to another process. Every call's outcome is kept, given up on or not. Then everything
 * settles and is read back. The timing of the calls is the machine's; the seed fixes the keys, the routing
 * choices and the faults.
 */
export class ChaosRun {
  readonly #options: ChaosOptions;
  readonly #store: PostgresTestSchema;
  readonly #members: Member[] = [];
  readonly #proxies: PostgresProxy[] = [];
  /** Where SCOPE_LEASED last said each agent's scope is held. */
  readonly #owners = new Map<number, string>();
  readonly #starting = new Set<Promise<void>>();
  readonly #resumes = new Map<Member, NodeJS.Timeout>();
  readonly #calls = new Set<Promise<void>>();
  readonly #writes: WriteRecord[] = [];
  readonly #says: WriteRecord[] = [];
  readonly #reads: ReadRecord[] = [];
  readonly #faultLog: string[] = [];
  #started = 0;
  /** Set once the run has ended: processes exit then, and are not replaced. */
  #closing = false;

  constructor(store: PostgresTestSchema, options: ChaosOptions) {
    this.#store = store;
    this.#options = options;
  }

  /** Stops every process and proxy the run started. */
  async close(): Promise<void> {
    this.#closing = true;
    for (const [member, timer] of this.#resumes) {
      clearTimeout(timer);
      this.#resume(member);
    }
    await Promise.allSettled(this.#starting);
    await Promise.all(this.#members.map((member) => member.process.close()));
    await Promise.all(this.#proxies.map((proxy) => proxy.close()));
  }

  async run(): Promise<{ record: ChaosRecord; summary: ChaosSummary }> {
    await Promise.all(Array.from({ length: this.#options.processes }, () => this.#startOne()));
    await startChaosAudit(this.#store.schema);
    // Slow enough that an entry queued twice would run twice before the end, and be seen.
    const registered = await this.#members[0]!.process.registerHook('chaos', { delayMs: 50 });
    if (!registered.ok) throw new Error(`registering the hook: ${registered.code} ${registered.message}`);
    // A commit made before its process has heard of the hook stages nothing for it.
    for (const member of this.#members) while (!(await member.process.knowsHook('chaos'))) await sleep(5);

    const began = Date.now();
    const until = began + this.#options.durationMs;
    const faults = this.#injectFaults(began, chaosFaults(this.#options));
    const { agents, keysPerAgent, readers, transactions, chatAgents } = this.#options;
    const loops = [
      ...Array.from({ length: agents * keysPerAgent }, (_, k) => this.#writer(k, until)),
      ...Array.from({ length: transactions }, (_, i) => this.#transactor(i, until)),
      ...Array.from({ length: chatAgents }, (_, i) => this.#chatter(i, until)),
      ...Array.from({ length: readers }, (_, i) => this.#reader(i, until)),
    ];
    await faults;
    await Promise.all(loops);
    for (const [member, timer] of this.#resumes) {
      clearTimeout(timer);
      this.#resume(member);
    }
    await Promise.all(this.#starting);
    while (this.#calls.size > 0) await Promise.all(this.#calls);
    return { record: await this.#collect(), summary: this.#summary() };
  }

  async #startOne(): Promise<void> {
    const index = this.#started++;
    const proxy = await PostgresProxy.start(this.#store.connectionString);
    this.#proxies.push(proxy);
    const starting = RuntimeProcess.start({
      connectionString: proxy.url,
      schema: this.#store.schema,
      owner: `p${index}`,
      ttlMs: this.#options.ttlMs,
      // Half the processes wait for a scope held elsewhere, half refuse at once.
      waitMs: index % 2 === 0 ? 0 : this.#options.ttlMs * 2,
      // A process whose runtime went fatal answers for a lease's length before it exits: other processes
      // take its scopes and hooks over meanwhile, since it gives its leases up at once.
      fatalLingerMs: this.#options.ttlMs,
    }).then((process) => {
      const member: Member = { index, process, proxy, dead: false, paused: false, suspected: false };
      this.#members.push(member);
      this.#members.sort((x, y) => x.index - y.index);
      // A process that exits on its own (its runtime went fatal, and it closed it) is replaced, as a
      // process manager would.
      void process.exited.then(() => {
        if (member.dead || this.#closing) return;
        member.dead = true;
        this.#faultLog.push(`${process.owner} exited; replaced`);
        this.#startOne().catch((error: unknown) => this.#faultLog.push(`the replacement of ${process.owner} did not start: ${String(error)}`));
      });
    });
    this.#starting.add(starting);
    await starting.finally(() => this.#starting.delete(starting));
  }

  /** The process a call for `agent` goes to; while none is alive (their replacements start), it waits. */
  async #route(agent: number, random: () => number): Promise<Member> {
    let alive = this.#members.filter((member) => !member.dead);
    while (alive.length === 0) {
      await sleep(20);
      alive = this.#members.filter((member) => !member.dead);
    }
    if (random() < this.#options.misrouted) return alive[Math.floor(random() * alive.length)]!;
    const trusted = alive.filter((member) => !member.suspected);
    const candidates = trusted.length > 0 ? trusted : alive;
    const owner = candidates.find((member) => member.process.owner === this.#owners.get(agent));
    return owner ?? candidates[agent % candidates.length]!;
  }

  /**
   * Sends `call` to `member` and waits for its answer, but no longer than the caller's patience: then the
   * member is suspected, and undefined returned. The answer is handed to `settle` whenever it comes.
   */
  async #send(member: Member, call: () => Promise<Answer>, settle: (answer: Answer, sentAt: number, settledAt: number) => void): Promise<Answer | undefined> {
    const sentAt = performance.now();
    const answered = call().then((answer) => {
      settle(answer, sentAt, performance.now());
      // A router sends what failed on the store, or what a runtime that went fatal refused, elsewhere next,
      // as it does what went unanswered.
      member.suspected = !answer.ok && (answer.code === 'STORAGE_FAILED' || answer.code === 'SUPERVISOR_SHUTDOWN');
      return answer;
    });
    const done = answered.then(() => {});
    this.#calls.add(done);
    void done.finally(() => this.#calls.delete(done));
    const answer = await Promise.race([answered, sleep(this.#options.patienceMs).then(() => undefined)]);
    if (answer === undefined) member.suspected = true;
    return answer;
  }

  /** Writes key `k` over and over, one write at a time unless it gives up on one. */
  async #writer(k: number, until: number): Promise<void> {
    const random = seededRandom(this.#options.seed * 1000 + 1 + k);
    const agent = Math.floor(k / this.#options.keysPerAgent);
    const key = `k${k % this.#options.keysPerAgent}`;
    for (let n = 0; Date.now() < until; n++) {
      await this.#write(agent, [[key, `agent:a${agent}/${key}#${n}`]], undefined, random);
    }
  }

  /** Sets every key of a random agent in one transaction, over and over. */
  async #transactor(index: number, until: number): Promise<void> {
    const random = seededRandom(this.#options.seed * 1000 + 700 + index);
    const { agents, keysPerAgent } = this.#options;
    for (let n = 0; Date.now() < until; n++) {
      const agent = Math.floor(random() * agents);
      const transaction = `t${index}.${n}`;
      const entries = Array.from({ length: keysPerAgent }, (_, i): [string, string] => [`k${i}`, `agent:a${agent}/k${i}#${transaction}`]);
      await this.#write(agent, entries, transaction, random);
    }
  }

  /**
   * Sends chat agent `c<index>` messages over and over; the process a message goes to restores the agent
   * (or spawns it, the first time) unless it runs there. Routed as agent `agents + index`.
   */
  async #chatter(index: number, until: number): Promise<void> {
    const random = seededRandom(this.#options.seed * 1000 + 800 + index);
    const agent = `c${index}`;
    const route = this.#options.agents + index;
    for (let n = 0; Date.now() < until; n++) {
      const member = await this.#route(route, random);
      const text = `${agent}#${n}`;
      const answer = await this.#send(member, () => member.process.say(agent, text), (answer, sentAt, settledAt) => {
        this.#says.push({ scope: `agent:${agent}`, key: '(machine)', value: text, by: member.process.owner, sentAt, settledAt, ...outcomeOf(answer) });
      });
      await this.#afterAnswer(route, answer, random);
    }
  }

  /** One write of `entries` to an agent's scope (a transaction when there are several), and what follows its answer. */
  async #write(agent: number, entries: Array<[string, string]>, transaction: string | undefined, random: () => number): Promise<void> {
    const scope = `agent:a${agent}`;
    const member = await this.#route(agent, random);
    const call = () => (entries.length === 1 ? member.process.set(scope, entries[0]![0], entries[0]![1]) : member.process.txSet(scope, entries));
    const answer = await this.#send(member, call, (answer, sentAt, settledAt) => {
      for (const [key, value] of entries) {
        this.#writes.push({ scope, key, value, by: member.process.owner, sentAt, settledAt, ...outcomeOf(answer), ...(transaction === undefined ? {} : { transaction }) });
      }
    });
    await this.#afterAnswer(agent, answer, random);
  }

  /** Where the next call goes after `answer`: to the owner SCOPE_LEASED named; a failure backs off a little. */
  async #afterAnswer(agent: number, answer: Answer | undefined, random: () => number): Promise<void> {
    if (answer !== undefined && !answer.ok) {
      const owner = answer.details?.owner;
      if (answer.code === 'SCOPE_LEASED' && typeof owner === 'string') this.#owners.set(agent, owner);
      await sleep(20);
    }
    await sleep(Math.floor(random() * 4));
  }

  async #reader(index: number, until: number): Promise<void> {
    const random = seededRandom(this.#options.seed * 1000 + 900 + index);
    const { agents, keysPerAgent } = this.#options;
    while (Date.now() < until) {
      const alive = this.#members.filter((member) => !member.dead && !member.suspected);
      if (alive.length === 0) {
        await sleep(20);
        continue;
      }
      const member = alive[Math.floor(random() * alive.length)]!;
      const scope = `agent:a${Math.floor(random() * agents)}`;
      const key = `k${Math.floor(random() * keysPerAgent)}`;
      await this.#send(member, () => member.process.get(scope, key), (answer, sentAt, settledAt) => {
        if (answer.ok) this.#reads.push({ scope, key, by: member.process.owner, sentAt, settledAt, value: answer.value as string | null });
      });
      await sleep(2);
    }
  }

  async #injectFaults(began: number, faults: Fault[]): Promise<void> {
    for (const fault of faults) {
      await sleep(Math.max(0, began + fault.at - Date.now()));
      if (fault.kind === 'dropConnections') {
        const connections = await postgresQuery<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [`llmstate:${this.#store.schema}`]);
        const random = seededRandom(Math.floor(fault.pick * 2 ** 31));
        const chosen = connections.filter(() => random() < 0.5).map((row) => row.pid);
        await postgresQuery('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [chosen]);
        this.#faultLog.push(`${fault.at} ms: ended ${chosen.length} of ${connections.length} connections`);
        continue;
      }
      const running = this.#members.filter((member) => !member.dead && !member.paused);
      // One process keeps running, so that the run goes on.
      if (running.length < 2) {
        this.#faultLog.push(`${fault.at} ms: ${fault.kind} skipped, one process runs`);
        continue;
      }
      const victim = running[Math.floor(fault.pick * running.length)]!;
      const { owner } = victim.process;
      if (fault.kind === 'kill') {
        this.#faultLog.push(`${fault.at} ms: SIGKILL ${owner}`);
        victim.dead = true;
        await victim.process.kill();
        // A replacement that cannot open (a fault ended its connections) leaves the run one process short.
        this.#startOne().catch((error: unknown) => this.#faultLog.push(`the replacement of ${owner} did not start: ${String(error)}`));
      } else if (fault.kind === 'pause') {
        this.#faultLog.push(`${fault.at} ms: SIGSTOP ${owner} for ${fault.forMs} ms`);
        victim.paused = true;
        victim.process.signal('SIGSTOP');
        this.#resumes.set(victim, setTimeout(() => this.#resume(victim), fault.forMs));
      } else {
        this.#faultLog.push(`${fault.at} ms: ${owner} cut off from the database for ${fault.forMs} ms`);
        victim.paused = true;
        victim.proxy.cut();
        this.#resumes.set(victim, setTimeout(() => this.#resume(victim), fault.forMs));
      }
    }
  }

  /** Ends a pause or a partition (either way, both are ended: it is never in the other). */
  #resume(member: Member): void {
    this.#resumes.delete(member);
    member.paused = false;
    member.proxy.heal();
    member.process.signal('SIGCONT');
  }

  /** Lets every hook delivery finish (up to a minute), then reads back the values, the log, the records and the deliveries. */
  async #collect(): Promise<ChaosRecord> {
    const alive = this.#members.filter((member) => !member.dead);
    const reader = alive[0]!.process;
    const events = await reader.setEvents();
    const deadline = Date.now() + 60_000;
    let deliveries = await this.#deliveries(reader);
    while (!events.every((event) => deliveries.has(event.id)) && Date.now() < deadline) {
      await sleep(200);
      deliveries = await this.#deliveries(reader);
    }
    // An entry queued twice runs again after its first success: once every process is idle, read again.
    await Promise.all(alive.map((member) => member.process.call('idle')));
    deliveries = await this.#deliveries(reader);
    const keys = this.#keys();
    const finalValues = new Map<string, Map<string, string | null>>();
    for (const member of alive) {
      const values = new Map<string, string | null>();
      for (const { scope, key, name } of keys) {
        const answer = await member.process.get(scope, key);
        if (!answer.ok) throw new Error(`${member.process.owner} reading ${name} at the end: ${answer.code} ${answer.message}`);
        values.set(name, answer.value as string | null);
      }
      finalValues.set(member.process.owner, values);
    }
    const audit = await readChaosAudit(this.#store.schema, keys);
    const chatTexts = new Map<string, Map<string, string[]>>();
    const chatting = [...new Set(this.#says.map((say) => say.scope))];
    for (const member of alive) {
      const texts = new Map<string, string[]>();
      for (const scope of chatting) {
        const answer = await member.process.agentTexts(scope.slice('agent:'.length));
        // An agent no process ever spawned has no record.
        if (!answer.ok && answer.code !== 'AGENT_NOT_FOUND') throw new Error(`${member.process.owner} reading ${scope} at the end: ${answer.code} ${answer.message}`);
        texts.set(scope, answer.ok ? (answer.value as string[]) : []);
      }
      chatTexts.set(member.process.owner, texts);
    }
    return { writes: this.#writes, reads: this.#reads, finalValues, events, audit, deliveries, says: this.#says, chatTexts };
  }

  /** The successful executions of the run's hook, by event id, as `reader` reads the history. */
  async #deliveries(reader: RuntimeProcess): Promise<Map<string, Delivered[]>> {
    const history = await reader.hookHistory('chaos');
    if (!history.ok) throw new Error(`reading the hook's history: ${history.code} ${history.message}`);
    const owners = new Map(this.#members.map((member) => [member.process.pid, member.process.owner]));
    const deliveries = new Map<string, Delivered[]>();
    for (const { status, eventIds, pid, executionId, attempt, startedAt, durationMs } of history.value as ExecutionLine[]) {
      if (status !== 'succeeded') continue;
      const delivered = { executionId, attempt, startedAt, durationMs, by: owners.get(pid) };
      for (const id of eventIds) deliveries.set(id, [...(deliveries.get(id) ?? []), delivered]);
    }
    return deliveries;
  }

  #keys(): Array<{ scope: string; key: string; name: string }> {
    const { agents, keysPerAgent } = this.#options;
    return Array.from({ length: agents * keysPerAgent }, (_, k) => {
      const scope = `agent:a${Math.floor(k / keysPerAgent)}`;
      const key = `k${k % keysPerAgent}`;
      return { scope, key, name: keyName(scope, key) };
    });
  }

  #summary(): ChaosSummary {
    const outcomes: Record<string, number> = {};
    for (const write of [...this.#writes, ...this.#says]) {
      const label = write.outcome === 'acked' ? 'acked' : `${write.outcome} ${write.code ?? 'with no code'}`;
      outcomes[label] = (outcomes[label] ?? 0) + 1;
    }
    return { faults: this.#faultLog, outcomes, reads: this.#reads.length };
  }
}

/** Reads an answer as what its caller may conclude about the write. */
function outcomeOf(answer: Answer): Pick<WriteRecord, 'outcome' | 'code' | 'message'> {
  if (answer.ok) return { outcome: 'acked' };
  const told = { code: answer.code, message: answer.message };
  if (answer.code === 'PROCESS_EXITED' || answer.details?.outcome === 'unknown') return { outcome: 'unknown', ...told };
  return { outcome: 'refused', ...told };
}

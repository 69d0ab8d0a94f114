import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../fixtures/scaleoutChild.ts', import.meta.url));
const root = fileURLToPath(new URL('../..', import.meta.url));

export interface ProcessOptions {
  connectionString: string;
  schema: string;
  /** The runtime's lease owner name. */
  owner: string;
  ttlMs: number;
  waitMs?: number;
  /** How long a process whose runtime went fatal goes on answering (reads, and refusals) before it closes it and exits. */
  fatalLingerMs?: number;
}

/** What a call in the child settled with. */
export type Answer = { ok: true; value: unknown } | { ok: false; code: string | undefined; message: string; details?: Record<string, unknown> };

/** A `state.set` event as the log has it. */
export interface LoggedSet {
  id: string;
  seq: number;
  scope: string;
  key: string;
  value: unknown;
}

/**
 * A runtime in a child process on a shared PostgreSQL store. Calls go over stdin as JSON lines; an answer
 * comes back once the call settled in the child, so a resolved `set` is an acknowledged write.
 */
export class RuntimeProcess {
  readonly owner: string;
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #waiting = new Map<number, (answer: Answer) => void>();
  #next = 0;
  #stderr = '';
  readonly #exited: Promise<void>;
  #gone = false;

  private constructor(child: ChildProcessWithoutNullStreams, owner: string) {
    this.#child = child;
    this.owner = owner;
    child.stderr.on('data', (chunk: Buffer) => (this.#stderr += chunk.toString()));
    // A call written as the process dies fails on the pipe (EPIPE); it is answered PROCESS_EXITED on close.
    child.stdin.on('error', () => {});
    this.#exited = new Promise((resolve) =>
      child.once('close', () => {
        this.#gone = true;
        resolve();
      }),
    );
  }

  /** Starts the child and resolves once its runtime is open. */
  static async start(options: ProcessOptions): Promise<RuntimeProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(options)], { cwd: root });
    const started = new RuntimeProcess(child, options.owner);
    await new Promise<void>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout });
      lines.on('line', (line) => {
        const message = JSON.parse(line) as { ready?: boolean; id?: number } & Answer;
        if (message.ready === true) return resolve();
        const settle = started.#waiting.get(message.id!);
        started.#waiting.delete(message.id!);
        settle?.(message);
      });
      child.once('close', (code, signal) => {
        reject(new Error(`The runtime process ${options.owner} exited (${code ?? signal}) before it was ready:\n${started.#stderr}`));
        for (const settle of started.#waiting.values()) settle({ ok: false, code: 'PROCESS_EXITED', message: `exited with ${code ?? signal}` });
        started.#waiting.clear();
      });
    });
    return started;
  }

  call(op: string, args: Record<string, unknown> = {}): Promise<Answer> {
    if (this.#gone) return Promise.resolve({ ok: false, code: 'PROCESS_EXITED', message: `${this.owner} has exited` });
    const id = this.#next++;
    return new Promise((resolve) => {
      this.#waiting.set(id, resolve);
      this.#child.stdin.write(`${JSON.stringify({ id, op, ...args })}\n`);
    });
  }

  set(scope: string, key: string, value: unknown): Promise<Answer> {
    return this.call('set', { scope, key, value });
  }

  /** Sets every one of `entries` in one transaction of `scope`. */
  txSet(scope: string, entries: Array<[string, unknown]>): Promise<Answer> {
    return this.call('txSet', { scope, entries });
  }

  /** Sends `SAY text` to chat agent `agent` (test/fixtures/chatMachine.ts), restoring or spawning it here first. */
  say(agent: string, text: string): Promise<Answer> {
    return this.call('say', { agent, value: text });
  }

  /** The texts chat agent `agent` has said, as this process sees its record. */
  agentTexts(agent: string): Promise<Answer> {
    return this.call('agentTexts', { agent });
  }

  get(scope: string, key: string): Promise<Answer> {
    return this.call('get', { scope, key });
  }

  /** Starts a transaction that sets `key` and waits, inside its callback, for {@link txRelease}. */
  txHold(scope: string, key: string, value: unknown, token: string): Promise<Answer> {
    return this.call('txHold', { scope, key, value, token });
  }

  /** Lets the held transaction finish; answers with its outcome. */
  txRelease(token: string): Promise<Answer> {
    return this.call('txRelease', { token });
  }

  /** Registers the recorder hook (test/fixtures/hooks/recorder.mjs) on `state.set`. */
  registerHook(name: string, options: { delayMs?: number; startedFile?: string }): Promise<Answer> {
    return this.call('hook', { name, options });
  }

  /** Whether this process has heard of hook `name`. */
  async knowsHook(name: string): Promise<boolean> {
    const answer = await this.call('knowsHook', { name });
    return answer.ok && answer.value === true;
  }

  /** The executions of a hook on record: `[{ status, eventIds }]`. */
  hookHistory(name: string): Promise<Answer> {
    return this.call('history', { name });
  }

  /** The ids of every `state.set` event on record. */
  setEventIds(): Promise<Answer> {
    return this.call('events');
  }

  /** Every `state.set` event on record, oldest first. */
  async setEvents(): Promise<LoggedSet[]> {
    const answer = await this.call('setEvents');
    if (!answer.ok) throw new Error(`${this.owner} could not read the event log: ${answer.code} ${answer.message}`);
    return answer.value as LoggedSet[];
  }

  /** Resolves when the process has exited, whatever the reason. */
  get exited(): Promise<void> {
    return this.#exited;
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  signal(signal: 'SIGKILL' | 'SIGSTOP' | 'SIGCONT'): void {
    this.#child.kill(signal);
  }

  /** Kills the child with SIGKILL and waits until it is gone. */
  async kill(): Promise<void> {
    this.#child.kill('SIGKILL');
    await this.#exited;
  }

  /** Closes the runtime and waits for the process to exit; kills it when it does not answer. */
  async close(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    this.#child.kill('SIGCONT');
    const closing = this.call('close');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 10_000);
    await Promise.race([closing, this.#exited]);
    await this.#exited;
    clearTimeout(timer);
  }
}

import { InvalidArgumentError, type Command } from 'commander';
import type { DeadLetter } from '../../actors/deadLetterRecord.js';
import type { AgentRecord } from '../../actors/agentRecord.js';
import type { AgentSummary } from '../agents/Agents.js';
import { escapeForDisplay } from '../displayText.js';
import { isLlmStateError, LlmStateError } from '../errors.js';
import type { EventKindPattern } from '../events/eventKinds.js';
import type { LoggedEvent } from '../events/eventLog.js';
import type { Runtime } from '../runtime.js';
import { normalizeScopeId } from '../state/keyRules.js';
import { globalOptions } from './globalOptions.js';
import { count, formatTable, isoTime, oneLine, printJson, printLine, printResult, previewJson, stdoutStyles, type Styles } from './output.js';
import { describeStore, type StoreSource } from './storeSource.js';
import { withRuntime } from './withRuntime.js';
import { redactView } from '../redaction/index.js';

/** The events `agents show` lists: lifecycle, supervision and injected faults, not state changes. */
export const AGENT_EVENT_KINDS: EventKindPattern[] = ['agent.*', 'supervisor.*', 'fault.*'];

/** How many of the latest events `agents show` prints unless `--events` says otherwise. */
export const DEFAULT_SHOWN_EVENTS = 20;

/** What the behaviour machine's persisted snapshot says, in short. */
export interface MachineSummary {
  /** xstate's snapshot status: `active`, `done`, `error` or `stopped`. */
  status: string;
  /** The state value, such as `"idle"` or `{ "working": "fetching" }`. */
  state: unknown;
  context: unknown;
}

/** Everything `agents show` prints. */
export interface AgentDetails {
  /** The record as stored, including the full machine snapshot. */
  record: AgentRecord;
  /** A summary of `record.machineSnapshot`; null for an agent without a machine. */
  machine: MachineSummary | null;
  /** Messages that crashed the agent or were refused as poison, oldest first. */
  deadLetters: DeadLetter[];
  /** The latest lifecycle, supervision and fault events since the agent was created, oldest first. */
  events: LoggedEvent[];
  /** How many such events the log holds in all; `events` may be the last few of them. */
  eventCount: number;
}

const ID_HELP = 'the agent id, as given to rt.agents.spawn';

/** Adds `agents list`, `agents show` and `agents delete`. */
export function registerAgentCommands(program: Command): void {
  const agents = program
    .command('agents')
    .description('list, inspect and delete the agents saved in the store (none runs in this process)');

  agents
    .command('list')
    .description('one line per stored agent: type, status as last saved, supervisor, messages, restarts')
    .option('--json', 'print the list as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const { store } = globalOptions(command);
      const summaries = await withRuntime(store, 'existing', (rt) => rt.agents.list());
      printResult(summaries, options, (found) => formatAgentList(found, stdoutStyles()), `no agents are stored in ${escapeForDisplay(describeStore(store))}`);
    });

  agents
    .command('show')
    .description("an agent's record, machine snapshot, dead letters and latest lifecycle events")
    .argument('<id>', ID_HELP)
    .option('--json', 'print everything as JSON, with the full machine snapshot and every event')
    .option('--events <n>', `print the last n events (text only; --json prints them all)`, parseCount, DEFAULT_SHOWN_EVENTS)
    .action(async (idText: string, options: { json?: boolean; events: number }, command: Command) => {
      const id = normalizeScopeId(idText, 'agent id');
      const json = options.json === true;
      const { store } = globalOptions(command);
      const details = await withRuntime(store, 'existing', (rt) =>
        collectAgentDetails(rt, id, json ? Number.MAX_SAFE_INTEGER : options.events),
      ).catch((error: unknown) => {
        throw withStoreHint(error, store);
      });
      if (json) printJson(details, 2);
      else for (const line of formatAgentDetails(details, stdoutStyles())) printLine(line);
    });

  agents
    .command('delete')
    .description("delete an agent's record, dead letters and agent:<id> state; prints deleted or not found")
    .argument('<id>', ID_HELP)
    .action(async (idText: string, _options: unknown, command: Command) => {
      const id = normalizeScopeId(idText, 'agent id');
      const existed = await withRuntime(globalOptions(command).store, 'existing', (rt) => rt.agents.delete(id));
      printLine(existed ? 'deleted' : 'not found');
    });

  // Subcommands copied the program's hint when they were created; name them instead.
  for (const sub of agents.commands) sub.showHelpAfterError(`(run llmstate agents ${sub.name()} --help for usage)`);
}

/** An AGENT_NOT_FOUND that also names the store searched, and how to see what it holds. */
function withStoreHint(error: unknown, store: StoreSource): unknown {
  if (!isLlmStateError(error, 'AGENT_NOT_FOUND')) return error;
  return new LlmStateError('AGENT_NOT_FOUND', `${error.message} in ${escapeForDisplay(describeStore(store))}; llmstate agents list shows the stored agents`, {
    cause: error,
    ...(error.details === undefined ? {} : { details: error.details }),
  });
}

/**
 * Reads what `agents show` prints, keeping the last `eventLimit` events.
 *
 * @throws {AGENT_NOT_FOUND} when no agent with this id is stored.
 */
export async function collectAgentDetails(rt: Runtime, id: string, eventLimit: number): Promise<AgentDetails> {
  const record = await rt.agents.show(id);
  const deadLetters = await rt.supervisors.deadLetters({ agentId: id });
  // From its creation on: the log keeps the events of an earlier agent that had the same id and was deleted.
  const events = await rt.events.query({
    agentId: id,
    kinds: AGENT_EVENT_KINDS,
    from: record.metadata.createdAt,
    limit: Number.MAX_SAFE_INTEGER,
  });
  return {
    record,
    machine: summarizeMachine(record.machineSnapshot),
    deadLetters,
    // Shown redacted, as its dead letters are: a crash's error may quote what the message carried.
    events: events.slice(Math.max(0, events.length - eventLimit)).map((event) => redactView(event)),
    eventCount: events.length,
  };
}

/** The status, state value and context of an xstate persisted snapshot; null when there is none. */
export function summarizeMachine(snapshot: unknown): MachineSummary | null {
  if (typeof snapshot !== 'object' || snapshot === null) return null;
  const { status, value, context } = snapshot as { status?: unknown; value?: unknown; context?: unknown };
  return { status: typeof status === 'string' ? status : 'unknown', state: value ?? null, context: context ?? null };
}

/** The text form of `agents list`: a table with a header, the same on a terminal and in a pipe. */
export function formatAgentList(summaries: readonly AgentSummary[], styles: Styles): string[] {
  const header = ['ID', 'TYPE', 'STATUS', 'SUPERVISOR', 'MESSAGES', 'RESTARTS', 'UPDATED'];
  const rows = summaries.map((agent) => [
    agent.id,
    agent.type,
    agent.status,
    agent.supervisor,
    String(agent.messages),
    String(agent.restarts),
    isoTime(agent.updatedAt),
  ]);
  return formatTable(header, rows, new Set([4, 5]), styles);
}

/** The text form of `agents show`. */
export function formatAgentDetails(details: AgentDetails, styles: Styles): string[] {
  const { record, machine, deadLetters, events, eventCount } = details;
  const field = (name: string, value: string) => `${name.padEnd(12)}${value}`;
  // Names and ids from the store are escaped before they are styled; previews and one-liners escape their own.
  const lines = [
    field('agent', styles.bold(escapeForDisplay(record.id))),
    field('type', escapeForDisplay(record.type)),
    field('status', `${escapeForDisplay(record.status)} ${styles.dim('(as last saved)')}`),
    field('supervisor', escapeForDisplay(record.supervisor)),
    field('persist', escapeForDisplay(record.persist)),
    field('created', isoTime(record.metadata.createdAt)),
    field('updated', isoTime(record.metadata.updatedAt)),
    field('messages', String(record.metadata.messages)),
    field('restarts', String(record.metadata.restarts)),
    field('schema', `agent record v${record.metadata.schemaVersion}`),
    '',
    field('config', previewJson(record.config, 100)),
  ];
  if (record.tools.length === 0) lines.push(field('tools', styles.dim('(none)')));
  record.tools.forEach((tool, index) => {
    lines.push(field(index === 0 ? 'tools' : '', tool.description === undefined ? escapeForDisplay(tool.name) : `${escapeForDisplay(tool.name)} — ${oneLine(tool.description, 80)}`));
  });
  lines.push(field('workflow', previewJson(record.workflow, 100)), field('custom', previewJson(record.custom, 100)));

  lines.push('');
  if (machine === null) {
    lines.push(field('machine', styles.dim('(none)')));
  } else {
    lines.push(field('machine', `${escapeForDisplay(machine.status)}, state ${previewJson(machine.state, 60)}`));
    lines.push(field('  context', previewJson(machine.context, 100)));
  }

  lines.push('', styles.bold(`conversation (${count(record.conversation.length, 'message')})`));
  for (const message of record.conversation) {
    const who = oneLine(message.name === undefined ? message.role : `${message.role} ${message.name}`, 40);
    lines.push(`  ${who.padEnd(10)} ${oneLine(message.content, 100)}`);
  }

  lines.push('', styles.bold(`dead letters (${deadLetters.length})`));
  for (const letter of deadLetters) {
    const { type, ...fields } = letter.event;
    const what = letter.poison
      ? `refused as poison, after it had crashed the agent ${count(letter.crashes, 'time')}`
      : `crashed the agent: ${oneLine(letter.error, 80)}${letter.crashes > 1 ? ` (crash ${letter.crashes} by this message)` : ''}`;
    lines.push(`  ${isoTime(letter.at)}  ${escapeForDisplay(String(type))} ${previewJson(fields, 70)}`);
    lines.push(`  ${' '.repeat(24)}  ${what}`);
  }

  const shown = events.length < eventCount ? `last ${events.length} of ${eventCount}` : String(eventCount);
  lines.push('', styles.bold(`events (${shown})`));
  const kinds = events.map((event) => escapeForDisplay(event.kind));
  const kindWidth = Math.max(0, ...kinds.map((kind) => kind.length));
  events.forEach((event, index) => {
    const data = event.data === undefined ? '' : `  ${previewJson(event.data, 100)}`;
    lines.push(`  ${isoTime(event.at)}  ${kinds[index].padEnd(kindWidth)}${data}`.trimEnd());
  });
  return lines;
}

function parseCount(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0 || !/^\d+$/.test(text)) throw new InvalidArgumentError('Expected a whole number of events, such as 20.');
  return n;
}

import { InvalidArgumentError, Option, type Command } from 'commander';
import { escapeForDisplay } from '../displayText.js';
import type { Runtime } from '../runtime.js';
import { checkArtifactId } from '../sessions/sessionChecks.js';
import type { SessionInfo } from '../sessions/sessionTypes.js';
import { normalizeScopeId } from '../state/keyRules.js';
import { globalOptions } from './globalOptions.js';
import { ExitError, EXIT_FAILURE, printLine, printResult, stdoutStyles } from './output.js';
import { formatArtifactDetails, formatSessionDetails, formatSessionList, type ArtifactDetails, type SessionDetails } from './sessionFormat.js';
import { describeStore, type StoreSource } from './storeSource.js';
import { withRuntime } from './withRuntime.js';

const ID_HELP = 'the session id, as sessions list shows it';
const EVERY = Number.MAX_SAFE_INTEGER;

/**
 * Adds `sessions list|show|end|gc` and `artifacts show`. Opening the store collects the sessions whose
 * time to live has passed, as every runtime does at open: `sessions gc` reports those too.
 */
export function registerSessionCommands(program: Command): void {
  const sessions = program.command('sessions').description('list, inspect, end and collect the sessions of the store, and see what they produced');

  sessions
    .command('list')
    .description('every session, collected ones included, in id order: status, start, expiry, end, collection, who started it, participants, metadata')
    .addOption(new Option('--status <status>', 'only sessions of this status').choices(['active', 'ended', 'expired']))
    .option('--json', 'print the list as JSON')
    .action(async (options: { status?: SessionInfo['status']; json?: boolean }, command: Command) => {
      const { store } = globalOptions(command);
      const found = await withRuntime(store, 'existing', (rt) => rt.sessions.list({ limit: EVERY, ...(options.status === undefined ? {} : { status: options.status }) }));
      const which = options.status === undefined ? 'no sessions' : `no ${options.status} sessions`;
      printResult(found, options, (list) => formatSessionList(list, stdoutStyles()), `${which} in ${escapeForDisplay(describeStore(store))}`);
    });

  sessions
    .command('show')
    .description('a session, and the artifacts linked to it or to its scope')
    .argument('<id>', ID_HELP)
    .option('--json', 'print { session, artifacts } as JSON')
    .action(async (idText: string, options: { json?: boolean }, command: Command) => {
      const { store } = globalOptions(command);
      const id = normalizeScopeId(idText, 'session id');
      const details = await withRuntime(store, 'existing', (rt) => collectSessionDetails(rt, id));
      if (details === undefined) throw notFound(id, store);
      printResult(details, options, (found) => formatSessionDetails(found, stdoutStyles()));
    });

  sessions
    .command('end')
    .description('end a session: its state is kept, read-only, until it is collected; exit 1 when it is unknown or has expired')
    .argument('<id>', ID_HELP)
    .action(async (idText: string, _options: unknown, command: Command) => {
      const { store } = globalOptions(command);
      const id = normalizeScopeId(idText, 'session id');
      const { before, after } = await withRuntime(store, 'existing', async (rt) => {
        const before = await rt.sessions.get(id);
        // The API refuses an expired session with a TypeError meant for programmers: say it here instead.
        return { before, after: before === undefined || before.status === 'expired' ? undefined : await rt.sessions.end(id) };
      });
      if (before === undefined) throw notFound(id, store);
      if (after === undefined) {
        const when = before.collected === undefined ? `expired at ${new Date(before.expiresAt!).toISOString()}` : `was collected at ${new Date(before.collected.at).toISOString()}`;
        throw new ExitError(EXIT_FAILURE, `session ${escapeForDisplay(id)} ${when}; only an active session can be ended`);
      }
      printLine(before.status === 'ended' ? `session ${escapeForDisplay(id)} had already ended at ${new Date(after.endedAt!).toISOString()}` : `ended ${escapeForDisplay(id)}`);
    });

  sessions
    .command('gc')
    .description('collect the sessions whose time to live has passed (and with --ended, the ended ones): clear their state, one atomic step each; print their ids')
    .option('--ended', 'also collect the sessions that have ended, whatever their time to live')
    .option('--json', 'print { collected } as JSON')
    .action(async (options: { ended?: boolean; json?: boolean }, command: Command) => {
      const { store } = globalOptions(command);
      const started = Date.now();
      const collected = await withRuntime(store, 'existing', async (rt) => {
        const { collected: now } = await rt.sessions.gc({ ended: options.ended === true });
        // The runtime collected those past their time to live when it opened the store, before gc() ran.
        const atOpen = (await rt.sessions.list({ status: 'expired', limit: EVERY })).filter((session) => session.collected !== undefined && session.collected.at >= started);
        return [...new Set([...atOpen.map((session) => session.id), ...now])];
      });
      printResult({ collected }, options, () => [collected.length === 0 ? 'no session to collect' : `collected ${collected.map((id) => escapeForDisplay(id)).join(', ')}`]);
    });

  for (const sub of sessions.commands) sub.showHelpAfterError(`(run llmstate sessions ${sub.name()} --help for usage)`);

  const artifacts = program.command('artifacts').description('what produced an artifact: its links and the state changes behind them');

  artifacts
    .command('show')
    .description('the links of an artifact, and the state changes that produced it, in log order: event id, time, kind, scope, key, correlation id; exit 1 when nothing is linked to it')
    .argument('<id>', 'the artifact id, as given to rt.sessions.linkArtifact', parseArtifactId)
    .option('--json', 'print { artifactId, links, changes } as JSON')
    .action(async (artifactId: string, options: { json?: boolean }, command: Command) => {
      const { store } = globalOptions(command);
      const details = await withRuntime(store, 'existing', async (rt): Promise<ArtifactDetails> => ({
        artifactId,
        links: await rt.sessions.linksOf(artifactId),
        changes: await rt.sessions.changesByArtifact(artifactId),
      }));
      if (details.links.length === 0) throw new ExitError(EXIT_FAILURE, `no artifact ${escapeForDisplay(artifactId)} is linked in ${escapeForDisplay(describeStore(store))}`);
      printResult(details, options, (found) => formatArtifactDetails(found, stdoutStyles()));
    });

  for (const sub of artifacts.commands) sub.showHelpAfterError(`(run llmstate artifacts ${sub.name()} --help for usage)`);
}

/** The session and its artifacts, or undefined for an id never started. */
async function collectSessionDetails(rt: Runtime, id: string): Promise<SessionDetails | undefined> {
  const session = await rt.sessions.get(id);
  if (session === undefined) return undefined;
  return { session, artifacts: await rt.sessions.artifactsOf({ sessionId: id }) };
}

function notFound(id: string, store: StoreSource): ExitError {
  return new ExitError(EXIT_FAILURE, `no session ${escapeForDisplay(id)} in ${escapeForDisplay(describeStore(store))}; llmstate sessions list shows them`);
}

function parseArtifactId(text: string): string {
  try {
    checkArtifactId(text);
  } catch (error) {
    throw new InvalidArgumentError(`${(error as Error).message}.`);
  }
  return text;
}

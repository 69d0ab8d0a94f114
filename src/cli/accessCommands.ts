import { Argument, type Command } from 'commander';
import { checkGrantInput, type GrantInput } from '../access/grantInput.js';
import { OPERATIONS, type Operation, type Permission } from '../access/permissions.js';
import { escapeForDisplay } from '../displayText.js';
import { normalizeScopeId } from '../state/keyRules.js';
import { Scope } from '../state/Scope.js';
import { parseExpiry, parseGrantTarget, parsePermissions, parsePrincipalArgument, type GrantTarget } from './accessArguments.js';
import { formatDecision, formatGrant, formatGrantList, formatQuarantine, formatQuarantineList } from './accessFormat.js';
import { globalOptions } from './globalOptions.js';
import { ExitError, EXIT_FAILURE, printLine, printResult, stdoutStyles, UsageError } from './output.js';
import { describeStore } from './storeSource.js';
import { withRuntime } from './withRuntime.js';

const PRINCIPAL_HELP = 'agent:<id>, or a custom name such as service:indexer';
const AGENT_HELP = 'the agent id, as in agent:<id>';

/** Adds `access grants|grant|revoke|check|quarantine|release|quarantined`. The command line acts as system. */
export function registerAccessCommands(program: Command): void {
  const access = program.command('access').description('grants, access checks and quarantines of the principals that share the store (the command line acts as system)');

  access
    .command('grants')
    .description('the grants in force, oldest first: id, principal, scope or pattern, permissions, steps, expiry, status, grantor')
    .option('--principal <principal>', 'only the grants this principal holds', parsePrincipalArgument)
    .option('--scope <scope>', 'only the grants that cover this scope, by name or by pattern')
    .option('--all', 'also the grants past their expiry')
    .option('--json', 'print the list as JSON')
    .action(async (options: { principal?: string; scope?: string; all?: boolean; json?: boolean }, command: Command) => {
      const { store } = globalOptions(command);
      const scope = options.scope === undefined ? undefined : Scope.parse(options.scope);
      const filter = { ...(options.principal === undefined ? {} : { principal: options.principal }), ...(scope === undefined ? {} : { scope }), includeExpired: options.all === true };
      const grants = await withRuntime(store, 'existing', async (rt) => rt.access.grants(filter));
      const none = `no grants${options.all === true ? '' : ' in force'}${options.principal === undefined && scope === undefined ? '' : ' match'} in ${escapeForDisplay(describeStore(store))}`;
      printResult(grants, options, (found) => formatGrantList(found, Date.now(), stdoutStyles()), none);
    });

  access
    .command('grant')
    .description('give a principal permissions on a scope, or on every scope a pattern matches; prints the grant')
    .argument('<principal>', PRINCIPAL_HELP, parsePrincipalArgument)
    .argument('<scope|pattern>', 'a scope such as agent:bob, or a pattern with * such as workflow:report-*', parseGrantTarget)
    .argument('<permissions>', 'comma-separated: read,write,delete,list, and grant to let the principal pass them on', parsePermissions)
    .option('--expires <time|duration>', 'when the grant ends: an ISO 8601 time with its zone, or a duration from now such as 1h or 7d', parseExpiry)
    .option('--include-steps', 'on a workflow scope or pattern: cover its step:<workflowId>/* scopes too')
    .option('--json', 'print the grant as JSON')
    .action(async (principal: string, target: GrantTarget, permissions: Permission[], options: { expires?: number; includeSteps?: boolean; json?: boolean }, command: Command) => {
      const { store } = globalOptions(command);
      const input: GrantInput = {
        principal,
        ...target,
        permissions,
        ...(options.expires === undefined ? {} : { expiresAt: options.expires }),
        ...(options.includeSteps === true ? { includeSteps: true } : {}),
      };
      asUsageError(() => checkGrantInput(input, Date.now()));
      const grant = await withRuntime(store, 'existing', (rt) => rt.access.grant(input));
      printResult(grant, options, formatGrant);
    });

  access
    .command('revoke')
    .description('remove a grant; exit 1 when there is no such grant')
    .argument('<grantId>', 'the grant id, as access grants shows it')
    .action(async (id: string, _options: unknown, command: Command) => {
      const { store } = globalOptions(command);
      const existed = await withRuntime(store, 'existing', (rt) => rt.access.revoke(id));
      if (!existed) throw new ExitError(EXIT_FAILURE, `no grant ${escapeForDisplay(id)} in ${escapeForDisplay(describeStore(store))}; llmstate access grants --all lists them`);
      printLine(`revoked ${escapeForDisplay(id)}`);
    });

  access
    .command('check')
    .description('whether a principal may do an operation on a scope now, and by which rule or grant; records nothing; exit 1 when denied')
    .argument('<principal>', `system, ${PRINCIPAL_HELP}`, parsePrincipalArgument)
    .argument('<scope>', 'the scope, such as agent:bob')
    .addArgument(new Argument('<operation>', 'the operation').choices(OPERATIONS))
    .option('--session <id>', 'decide as for the principal bound to this session')
    .option('--json', 'print the decision as JSON')
    .action(async (principal: string, scopeText: string, operation: Operation, options: { session?: string; json?: boolean }, command: Command) => {
      const { store } = globalOptions(command);
      const scope = Scope.parse(scopeText);
      const sessionId = options.session === undefined ? undefined : normalizeScopeId(options.session, 'session id');
      const decision = await withRuntime(store, 'existing', async (rt) => rt.access.check(principal, scope, operation, sessionId === undefined ? {} : { sessionId }));
      printResult(decision, options, formatDecision);
      // A denial is an answer, printed like an allowance; the exit code lets a script branch on it.
      if (!decision.allowed) throw new ExitError(EXIT_FAILURE);
    });

  access
    .command('quarantine')
    .description('cut an agent off: every operation by it or on its scope is refused with AGENT_QUARANTINED until it is released')
    .argument('<agentId>', AGENT_HELP)
    .option('--reason <text>', 'why, kept with the quarantine and shown by access quarantined')
    .option('--json', 'print the quarantine as JSON')
    .action(async (agentText: string, options: { reason?: string; json?: boolean }, command: Command) => {
      const { store } = globalOptions(command);
      const agentId = normalizeScopeId(agentText, 'agent id');
      const quarantine = await withRuntime(store, 'existing', (rt) => rt.access.quarantine(agentId, options.reason === undefined ? {} : { reason: options.reason }));
      printResult(quarantine, options, formatQuarantine);
    });

  access
    .command('release')
    .description('lift a quarantine (the agent stays stopped until it is restored); exit 1 when the agent was not quarantined')
    .argument('<agentId>', AGENT_HELP)
    .action(async (agentText: string, _options: unknown, command: Command) => {
      const { store } = globalOptions(command);
      const agentId = normalizeScopeId(agentText, 'agent id');
      const released = await withRuntime(store, 'existing', (rt) => rt.access.release(agentId));
      if (!released) throw new ExitError(EXIT_FAILURE, `agent ${escapeForDisplay(agentId)} is not quarantined in ${escapeForDisplay(describeStore(store))}; llmstate access quarantined lists those that are`);
      printLine(`released ${escapeForDisplay(agentId)}`);
    });

  access
    .command('quarantined')
    .description('the agents under quarantine: agent, since, by whom, and why')
    .option('--json', 'print the list as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const { store } = globalOptions(command);
      const quarantines = await withRuntime(store, 'existing', async (rt) => rt.access.quarantined());
      printResult(quarantines, options, (found) => formatQuarantineList(found, stdoutStyles()), `no agent is quarantined in ${escapeForDisplay(describeStore(store))}`);
    });

  // Subcommands copied the program's hint when they were created; name them instead.
  for (const sub of access.commands) sub.showHelpAfterError(`(run llmstate access ${sub.name()} --help for usage)`);
}

/** A grant the API would refuse as malformed is a usage error, found before the store is opened. */
function asUsageError(check: () => unknown): void {
  try {
    check();
  } catch (error) {
    if (error instanceof TypeError) throw new UsageError(error.message, { cause: error });
    throw error;
  }
}

import { Option, type Command } from 'commander';
import type { AuditFilter } from '../access/auditFilter.js';
import { escapeForDisplay } from '../displayText.js';
import { Scope } from '../state/Scope.js';
import { parsePastTime, parsePrincipalArgument } from './accessArguments.js';
import { formatAuditList } from './accessFormat.js';
import { globalOptions } from './globalOptions.js';
import { parsePositive } from './hookCommands.js';
import { printResult, stdoutStyles, UsageError } from './output.js';
import { describeStore } from './storeSource.js';
import { withRuntime } from './withRuntime.js';

interface AuditOptions {
  principal?: string;
  scope?: string;
  outcome?: 'allowed' | 'denied';
  since?: number;
  until?: number;
  limit?: number;
  json?: boolean;
}

/** Adds `audit`: the access decisions on record. */
export function registerAuditCommand(program: Command): void {
  program
    .command('audit')
    .description('the access decisions on record, newest first: every cross-scope decision, allowed or denied, with its rule, grant and correlation id')
    .option('--principal <principal>', 'only the decisions about this principal, such as agent:ada', parsePrincipalArgument)
    .option('--scope <scope>', 'only the decisions on this scope, such as agent:bob')
    .addOption(new Option('--outcome <outcome>', 'only the allowed or the denied decisions').choices(['allowed', 'denied']))
    .option('--since <time|duration>', 'recorded at or after this time: ISO 8601 with its zone, or a duration ago such as 1h or 7d', parsePastTime)
    .option('--until <time|duration>', 'recorded at or before this time: ISO 8601 with its zone, or a duration ago', parsePastTime)
    .option('--limit <n>', 'print at most n decisions (default: 1000)', parsePositive)
    .option('--json', 'print the records as JSON')
    .action(async (options: AuditOptions, command: Command) => {
      const { store } = globalOptions(command);
      const filter = auditFilterOf(options);
      const records = await withRuntime(store, 'existing', (rt) => rt.access.audit(filter));
      printResult(records, options, (found) => formatAuditList(found, stdoutStyles()), `no access decision on record matches in ${escapeForDisplay(describeStore(store))}`);
    });
}

function auditFilterOf(options: AuditOptions): AuditFilter {
  if (options.since !== undefined && options.until !== undefined && options.since > options.until) {
    throw new UsageError('--since is later than --until: no record can match');
  }
  return {
    ...(options.principal === undefined ? {} : { principal: options.principal }),
    ...(options.scope === undefined ? {} : { scope: Scope.parse(options.scope).toString() }),
    ...(options.outcome === undefined ? {} : { outcome: options.outcome }),
    ...(options.since === undefined ? {} : { since: options.since }),
    ...(options.until === undefined ? {} : { until: options.until }),
    ...(options.limit === undefined ? {} : { limit: options.limit }),
  };
}

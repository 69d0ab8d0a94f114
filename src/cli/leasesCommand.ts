import type { Command } from 'commander';
import { escapeForDisplay } from '../displayText.js';
import type { LeaseInfo } from '../leaseReport.js';
import { globalOptions } from './globalOptions.js';
import { formatTable, printNote, printResult, stdoutStyles, type Styles } from './output.js';
import { describeStore, isPostgresStore } from './storeSource.js';
import { withRuntime } from './withRuntime.js';

/** Adds `leases`: who holds each scope, hook delivery and the migration lock of a shared store. */
export function registerLeasesCommand(program: Command): void {
  program
    .command('leases')
    .description('the leases of a PostgreSQL store: which process holds each scope, hook delivery and the migration lock, and until when')
    .option('--prefix <prefix>', 'only the resources that start with this (agent:, hook:)', '')
    .option('--json', 'print the leases as JSON')
    .action(async (options: { prefix: string; json?: boolean }, command: Command) => {
      const { store } = globalOptions(command);
      if (!isPostgresStore(store)) {
        printNote(`no leases: a LevelDB store (${escapeForDisplay(describeStore(store))}) is used by one process at a time; leases are for a PostgreSQL store (--postgres)`);
        if (options.json === true) printResult([], options, () => []);
        return;
      }
      const leases = await withRuntime(store, 'existing', (rt) => rt.leases({ prefix: options.prefix }));
      const matching = options.prefix === '' ? '' : ` starting with ${escapeForDisplay(options.prefix)}`;
      printResult(leases, options, (found) => formatLeases(found, stdoutStyles()), `no leases${matching} in ${escapeForDisplay(describeStore(store))}`);
    });
}

/** One line per lease: resource, owner, epoch, state, and how long it still runs. */
export function formatLeases(leases: readonly LeaseInfo[], styles: Styles): string[] {
  const rows = leases.map((lease) => [
    escapeForDisplay(lease.resource),
    escapeForDisplay(lease.owner),
    String(lease.epoch),
    lease.state,
    lease.state === 'held' ? `in ${(lease.expiresInMs / 1000).toFixed(1)} s` : lease.state === 'expired' ? `at ${lease.expiresAt}` : '',
  ]);
  return formatTable(['RESOURCE', 'OWNER', 'EPOCH', 'STATE', 'EXPIRES'], rows, new Set([2]), styles);
}

import type pg from 'pg';

let loading: Promise<typeof pg> | undefined;

/**
 * The `pg` driver, loaded on first use: a process that never opens a PostgreSQL store (every LevelDB user,
 * and each short `llmstate --data-dir` command) does not pay for loading it.
 */
export function loadPg(): Promise<typeof pg> {
  loading ??= import('pg').then((module) => module.default);
  return loading;
}

/**
 * PG (P10): the runtime on PostgreSQL beside raw `pg` doing the same work, in the same run, on the same
 * server, each side on a fresh schema that is dropped afterwards:
 *
 * - P1 on PostgreSQL, awaited single-caller set (bench/pgAwaitedSet.ts). Goal: ≤ 1.5× raw.
 * - P2 on PostgreSQL, 64 sets in flight (bench/pgConcurrentSet.ts). Goal: ≥ 0.5× raw batched.
 * - Two runtime processes against one (bench/pgProcesses.ts). No goal.
 *
 * The server is found as bench/postgresServer.ts says; without one, PG is skipped and says how to give one.
 */
import type { BenchContext, BenchResult, ResultRow } from './harness.js';
import { pgAwaitedSet } from './pgAwaitedSet.js';
import { pgConcurrentSet } from './pgConcurrentSet.js';
import { pgProcesses } from './pgProcesses.js';
import { benchServer, NO_SERVER, serverSettings } from './postgresServer.js';

/** What each of the three parts gives the table. */
export async function p10Postgres(ctx: BenchContext): Promise<BenchResult> {
  const server = await benchServer(ctx.postgres, ctx.log);
  if (server === undefined) return { id: 'PG', title: '', rows: [], notes: [], data: {}, skipped: NO_SERVER };
  try {
    const settings = await serverSettings(server.url);
    const described = Object.entries(settings)
      .map(([name, value]) => `${name} ${value}`)
      .join(', ');
    ctx.log(`PG: PostgreSQL, ${server.origin}: ${described}`);
    const parts = [await pgAwaitedSet(ctx, server.url), await pgConcurrentSet(ctx, server.url), await pgProcesses(ctx, server.url)];
    return {
      id: 'PG',
      title: `llmstate on PostgreSQL vs raw pg on the same server (${ctx.reps} reps)`,
      rows: parts.flatMap((part) => part.rows),
      notes: [
        `Server, ${server.origin}: ${described}.`,
        'Both sides use a pool of 2 connections, the size of the backend\'s write pool; the server runs on this machine and takes its CPU from the same cores.',
        ...parts.flatMap((part) => part.notes),
      ],
      data: { settings, p1: parts[0].data, p2: parts[1].data, processes: parts[2].data },
    };
  } finally {
    await server.stop();
  }
}

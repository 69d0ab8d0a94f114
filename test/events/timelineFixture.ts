import type { LoggedEvent } from '../../src/events/eventLog.js';
import type { HookExecution } from '../../src/hooks/types.js';

/** 2024-01-02T03:04:05.006Z: every fixture time is an offset from here. */
export const T0 = Date.UTC(2024, 0, 2, 3, 4, 5, 6);

/** A `state.set` on `agent:a1` unless told otherwise; a field given as `undefined` is left out, as in the log. */
export function event(id: string, fields: Partial<LoggedEvent> = {}): LoggedEvent {
  const seq = Number(id.split('.')[0]);
  const all = { id, seq, at: T0, kind: 'state.set', scope: 'agent:a1', key: 'k', correlationId: 'c1', ...fields };
  return Object.fromEntries(Object.entries(all).filter(([, value]) => value !== undefined)) as unknown as LoggedEvent;
}

export function execution(executionId: string, fields: Partial<HookExecution> = {}): HookExecution {
  return {
    executionId,
    hookName: 'summarise',
    correlationId: 'c1',
    correlationIds: ['c1'],
    causationId: fields.eventIds?.[0] ?? '1.0',
    eventIds: ['1.0'],
    attempt: 1,
    status: 'succeeded',
    input: [],
    startedAt: T0,
    durationMs: 1,
    priority: 0,
    ...fields,
  };
}

/**
 * A write, the hook it triggered, that hook's action write, and a failed hook on that write; a second
 * hook on the first write; and an unrelated lifecycle event.
 */
export function storyEvents(): LoggedEvent[] {
  return [
    event('1.0', { key: 'topic', value: { name: 'weather' } }),
    event('2.0', { at: T0 + 17, key: 'summary', value: 'sunny', causationId: '1.0', executionId: 'x0001' }),
    event('2.1', { at: T0 + 17, kind: 'agent.spawned', scope: undefined, key: undefined, agentId: 'a2', data: { restart: 'permanent' } }),
  ];
}

export function storyExecutions(): HookExecution[] {
  return [
    execution('x0003', { hookName: 'index', startedAt: T0 + 30, durationMs: 1 }),
    execution('x0002', {
      hookName: 'notify',
      eventIds: ['2.0'],
      startedAt: T0 + 20,
      durationMs: 3,
      status: 'failed',
      error: { code: 'HOOK_FAILED', message: 'boom' },
    }),
    execution('x0001', { startedAt: T0 + 5, durationMs: 12, result: { output: { summary: 'ok' } } }),
  ];
}

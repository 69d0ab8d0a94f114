import { assign, setup } from 'xstate';

export type LifecycleEvent =
  | { type: 'LOADED' }
  | { type: 'PAUSE' }
  | { type: 'RESUME' }
  | { type: 'STOP' }
  | { type: 'STOPPED' }
  | { type: 'FAIL'; error: unknown };

/**
 * The lifecycle of a scope actor: loading → ready ⇄ paused, → stopping → stopped, and failed.
 *
 * Whether a group commit is in flight is tracked by the mailbox, not by this machine: an xstate `send`
 * costs about 3.5 µs here, more than the whole per-write budget of the shared commit path, so the
 * machine only sees transitions that happen once per activation, pause or stop.
 */
export const scopeLifecycle = setup({
  types: {
    events: {} as LifecycleEvent,
    context: {} as { error: unknown },
  },
}).createMachine({
  id: 'scopeActor',
  initial: 'loading',
  context: { error: undefined },
  states: {
    loading: {
      on: {
        LOADED: 'ready',
        FAIL: { target: 'failed', actions: assign({ error: ({ event }) => event.error }) },
        STOP: 'stopping',
      },
    },
    ready: {
      on: {
        PAUSE: 'paused',
        STOP: 'stopping',
        FAIL: { target: 'failed', actions: assign({ error: ({ event }) => event.error }) },
      },
    },
    paused: {
      on: { RESUME: 'ready', STOP: 'stopping' },
    },
    stopping: {
      on: {
        STOPPED: 'stopped',
        FAIL: { target: 'failed', actions: assign({ error: ({ event }) => event.error }) },
      },
    },
    stopped: { type: 'final' },
    failed: {
      on: { STOP: 'stopped' },
    },
  },
});

export type LifecycleState = 'loading' | 'ready' | 'paused' | 'stopping' | 'stopped' | 'failed';

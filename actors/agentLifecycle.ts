import { setup } from 'xstate';

export type AgentLifecycleEvent =
  | { type: 'STARTED' }
  | { type: 'PAUSE' }
  | { type: 'RESUME' }
  | { type: 'CRASH' }
  | { type: 'RESTART' }
  | { type: 'STOP' }
  | { type: 'SUSPEND' }
  | { type: 'STOPPED' };

/**
 * An agent's lifecycle. `crashed` waits for its supervisor: a restart goes back through `starting` with
 * state reloaded from the store. Messages queue in every state but `stopping` and `stopped`.
 */
export const agentLifecycle = setup({
  types: { events: {} as AgentLifecycleEvent },
}).createMachine({
  id: 'agent',
  initial: 'starting',
  states: {
    starting: { on: { STARTED: 'running', STOP: 'stopping', CRASH: 'crashed' } },
    running: { on: { PAUSE: 'paused', CRASH: 'crashed', STOP: 'stopping', RESTART: 'starting', SUSPEND: 'suspended' } },
    paused: { on: { RESUME: 'running', STOP: 'stopping', CRASH: 'crashed', RESTART: 'starting', SUSPEND: 'suspended' } },
    // Stopped by its supervisor, which may start it again (a sibling's restart, an escalation): messages queue.
    suspended: { on: { RESTART: 'starting', STOP: 'stopping' } },
    crashed: { on: { RESTART: 'starting', STOP: 'stopping' } },
    stopping: { on: { STOPPED: 'stopped', RESTART: 'starting' } },
    stopped: { on: { RESTART: 'starting' } },
  },
});

export type AgentLifecycleState = 'starting' | 'running' | 'paused' | 'crashed' | 'suspended' | 'stopping' | 'stopped';

import type { AgentHandle, Agents } from '../../agents/Agents.js';
import { Scope } from '../../state/Scope.js';
import type { Gate } from '../Gate.js';
import { guarded, type Rules } from '../guarded.js';
import { agentScope } from './agentScope.js';
import { readOnce } from './readOnce.js';


/**
 * `rt.agents`: an agent is its scope, `agent:<id>`. Looking at one needs `read`; starting, saving and
 * messaging it need `write`; deleting it needs `delete`. Listings show only the agents the principal
 * can read. Defining a type's machine, and the runtime's own calls, are system's.
 */
export const AGENTS_RULES: Rules<Agents> = {
  define: (gate, agents, type, machine) => gate.systemOnly('agents.define', 'value', () => agents.define(type, machine)),
  spawn: (gate, agents, given) => {
    const options = readOnce(given);
    return gate.async('agents.spawn', [{ scope: agentScope(options?.id), operation: 'write' }], async () => guardHandle(gate, await agents.spawn(options)));
  },
  get: (gate, agents, id) => gate.sync('agents.get', [{ scope: agentScope(id), operation: 'read' }], () => guardHandle(gate, agents.get(id))),
  save: (gate, agents, id) => gate.async('agents.save', [{ scope: agentScope(id), operation: 'write' }], () => agents.save(id)),
  restore: (gate, agents, id, options) =>
    gate.async('agents.restore', [{ scope: agentScope(id), operation: 'write' }], async () => guardHandle(gate, await agents.restore(id, options))),
  list: (gate, agents) => gate.open('agents.list', 'promise', async () => (await agents.list()).filter((agent) => gate.allows(Scope.agent(agent.id), 'read'))),
  show: (gate, agents, id) => gate.async('agents.show', [{ scope: agentScope(id), operation: 'read' }], () => agents.show(id)),
  // The context argument is the runtime's own: a view records its principal, whatever a caller passes.
  delete: (gate, agents, id) => gate.async('agents.delete', [{ scope: agentScope(id), operation: 'delete' }], () => agents.delete(id)),
  deadLetters: (gate, agents, given) => {
    const filter = readOnce(given);
    return filter?.agentId !== undefined
      ? gate.async('agents.deadLetters', [{ scope: agentScope(filter.agentId), operation: 'read' }], () => agents.deadLetters(filter))
      : gate.open('agents.deadLetters', 'promise', async () => (await agents.deadLetters(filter)).filter((letter) => gate.allows(Scope.agent(letter.agentId), 'read')));
  },
  liveIds: (gate, agents) => gate.open('agents.liveIds', 'value', () => agents.liveIds().filter((id) => gate.allows(Scope.agent(id), 'read'))),
  assertWritable: (gate, agents) => gate.systemOnly('agents.assertWritable', 'value', () => agents.assertWritable()),
  isLive: (gate, agents, id) => gate.systemOnly('agents.isLive', 'value', () => agents.isLive(id)),
  saveAll: (gate, agents) => gate.systemOnly('agents.saveAll', 'promise', () => agents.saveAll()),
  rejectAllQueued: (gate, agents, error) => gate.systemOnly('agents.rejectAllQueued', 'value', () => agents.rejectAllQueued(error)),
  letGoAll: (gate, agents, error) => gate.systemOnly('agents.letGoAll', 'promise', () => agents.letGoAll(error)),
  cutOff: (gate, agents, id, error) => gate.systemOnly('agents.cutOff', 'promise', () => agents.cutOff(id, error)),
  stopAgent: (gate, agents, actor, supervisor) => gate.systemOnly('agents.stopAgent', 'promise', () => agents.stopAgent(actor, supervisor)),
};

/** A handle checks every call again: a grant revoked, or a quarantine, takes effect on handles already given out. */
function handleRules(id: string): Rules<AgentHandle> {
  const scope = Scope.agent(id);
  const write = [{ scope, operation: 'write' as const }];
  return {
    send: (gate, handle, event) => gate.async('agent.send', write, () => handle.send(event)),
    pause: (gate, handle) => gate.async('agent.pause', write, () => handle.pause()),
    resume: (gate, handle) => gate.async('agent.resume', write, () => handle.resume()),
    stop: (gate, handle) => gate.async('agent.stop', write, () => handle.stop()),
    save: (gate, handle) => gate.async('agent.save', write, () => handle.save()),
    update: (gate, handle, patch) => gate.async('agent.update', write, () => handle.update(patch)),
    status: (gate, handle) => gate.sync('agent.status', [{ scope, operation: 'read' }], () => handle.status()),
    record: (gate, handle) => gate.sync('agent.record', [{ scope, operation: 'read' }], () => handle.record()),
  };
}

function guardHandle(gate: Gate, handle: AgentHandle): AgentHandle {
  return guarded(handle, handleRules(handle.id), gate);
}

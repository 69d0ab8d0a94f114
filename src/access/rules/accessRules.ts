import type { Access } from '../Access.js';
import type { Rules } from '../guarded.js';

/** `rt.access` decides who may do what itself, from the calling principal: the view only runs it as that principal. */
export const ACCESS_RULES: Rules<Access> = {
  grant: (gate, access, input) => gate.open('access.grant', 'promise', () => access.grant(input)),
  revoke: (gate, access, id) => gate.open('access.revoke', 'promise', () => access.revoke(id)),
  grants: (gate, access, filter) => gate.open('access.grants', 'value', () => access.grants(filter)),
  check: (gate, access, principal, scope, operation, options) => gate.open('access.check', 'value', () => access.check(principal, scope, operation, options)),
  audit: (gate, access, filter) => gate.open('access.audit', 'promise', () => access.audit(filter)),
  quarantine: (gate, access, agentId, options) => gate.open('access.quarantine', 'promise', () => access.quarantine(agentId, options)),
  release: (gate, access, agentId) => gate.open('access.release', 'promise', () => access.release(agentId)),
  quarantined: (gate, access) => gate.open('access.quarantined', 'value', () => access.quarantined()),
};

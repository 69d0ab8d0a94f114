export {
  DEFAULT_CHILD_SPEC,
  type ChildLink,
  type ChildRef,
  type ChildSpec,
  type ChildTemplate,
  type ChildType,
  type ExitReason,
  type RestartType,
  type Shutdown,
} from './childSpec.js';
export { checkChildSpecs, MAX_SHUTDOWN_MS } from './checkChildSpecs.js';
export { addRestart, backoffDelay, exceedsIntensity, type BackoffOptions } from './restartBudget.js';
export { seededRandom } from '../src/seededRandom.js';
export {
  RESTART_LOG_LIMIT,
  Supervisor,
  type ChildCounts,
  type ChildInfo,
  type ChildStatus,
  type RestartRecord,
  type StartedChild,
  type SupervisorChildOptions,
  type SupervisorStatus,
} from './Supervisor.js';
export type { SupervisorEvent, SupervisorEventType } from './supervisorEvents.js';
export { DEFAULT_SUPERVISOR_OPTIONS, type Strategy, type SupervisorOptions } from './supervisorOptions.js';
export { systemTimers, type Timers } from '../src/timers.js';

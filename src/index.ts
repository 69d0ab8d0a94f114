export { createRuntime, onRuntimeFatal } from './runtime.js';
export type { Runtime, RuntimeMetrics, CorrelateResult, CorrelateOptions } from './runtime.js';
export type { StoreStats, KindStats } from './storeStats.js';
export type { LeaseInfo, LeaseListOptions } from './leaseReport.js';
export { Agents, AgentHandle } from './agents/Agents.js';
export type { SpawnOptions, RestoreOptions, AgentSummary, DeadLetterFilter } from './agents/Agents.js';
export type { AgentReply } from '../actors/AgentActor.js';
export type { DeadLetter } from '../actors/deadLetterRecord.js';
export type { AgentEvent, AgentRecord, AgentPatch, AgentStatus, ConversationMessage, Tool, WorkflowProgress } from '../actors/agentRecord.js';
export { SupervisorTree, ROOT_SUPERVISOR, DEFAULT_AGENT_SUPERVISOR } from '../supervisors/SupervisorTree.js';
export { Supervisors, SupervisorHandle } from './agents/Supervisors.js';
export type { SupervisorSpec } from '../supervisors/SupervisorTree.js';
export type { ChildSpec, ChildLink, ChildRef, RestartType, Shutdown, ExitReason } from '../supervisors/childSpec.js';
export type { ChildInfo, ChildCounts } from '../supervisors/Supervisor.js';
export type { Strategy } from '../supervisors/supervisorOptions.js';
export type { BackoffOptions } from '../supervisors/restartBudget.js';
export { FaultInjector } from '../supervisors/FaultInjector.js';
export type { StorageFaultSpec } from '../supervisors/FaultInjector.js';
export { DEFAULT_OPTIONS } from './runtimeOptions.js';
export type { RuntimeOptions, ResolvedRuntimeOptions } from './runtimeOptions.js';
export { LlmStateError, ERROR_CODES, isLlmStateError } from './errors.js';
export type { ErrorCode, LlmStateErrorOptions } from './errors.js';
export { Scope, SCOPE_KINDS } from './state/Scope.js';
export type { ScopeKind } from './state/Scope.js';
export { StateManager } from './state/StateManager.js';
export type { WriteOptions, TransactionOptions, ListKeysOptions, TransactionHandle } from './state/StateManager.js';
export type { StateUnit, StateUnitPlan, EntriesRange, ScopesOptions } from './state/stateUnit.js';
export { MAX_KEY_LENGTH, MAX_SCOPE_ID_LENGTH } from './state/keyRules.js';
export type { KeyRule } from './state/keyRules.js';
export { DEFAULT_MAX_VALUE_BYTES } from './state/values.js';
export { currentCorrelation } from './events/correlation.js';
export { Events } from './events/Events.js';
export type { EventFilter } from './events/queryEvents.js';
export type { LoggedEvent } from './events/eventLog.js';
export { EVENT_KINDS } from './events/eventKinds.js';
export type { EventKind, EventKindPattern, EventFamily, EventData, LangGraphEventSpec } from './events/eventKinds.js';
export type { CorrelationContext } from './events/correlation.js';
export type { Clock } from './clock.js';
export type { Timers } from './timers.js';
export { StorageBackend, SUBLEVELS, WATCHED_SUBLEVELS } from './storage/StorageBackend.js';
export type { SublevelName, BatchOp, StorageInterceptor, ForeignChange, WatchedSublevel } from './storage/StorageBackend.js';
export { Hooks } from './hooks/Hooks.js';
export type { HookInfo, HookRegistrationInput, ReplayResult, ReplayOptions, HookDeadLetter } from './hooks/Hooks.js';
export { BUILTIN_HOOKS, HOOK_DEFAULTS } from './hooks/hookDefinition.js';
export type { HookRegistration, HookDefinition, HookFilter, HookBackoff, HookBreakerOptions, BuiltinHookName } from './hooks/hookDefinition.js';
export type { HookEvent, HookContext, HookAction, HookResult, HookExecution, HookExecutionMetadata, ExecutionStatus, ExecutionError } from './hooks/types.js';
export type { HistoryFilter, HistoryRetention, PruneResult } from './hooks/HookHistory.js';
export type { HookStatus } from './hooks/Dispatcher.js';
export type { HookMetrics } from './hooks/hookMetrics.js';
export type { InvalidationKeyspace, ObservedGroup } from './hooks/builtinSinks.js';
export type { SchemaReportOutput, SchemaReportFailure, SchemaReportStale, SchemaReportSkipped, SchemaReportIssue } from '../workers/builtins/schemaReport.js';
export type { CircuitState } from './hooks/CircuitBreaker.js';
export type { DiffOp } from './hooks/replayDiff.js';
export { renderTimeline, TIMELINE_FORMATS } from './events/timelineExport.js';
export type { TimelineFormat } from './events/timelineExport.js';
export type { Timeline, TimelineNode } from './events/timeline.js';
export type { HookResourceLimits, HookRuntimeOptions, ResolvedHookRuntimeOptions } from './runtimeOptions.js';
export { Backups } from './backup/Backups.js';
export type {
  BackupDescriptor,
  BackupProgress,
  BackupRuntimeOptions,
  CreateBackupOptions,
  RestoreBackupOptions,
  RestoreBackupResult,
  VerifyBackupResult,
  PruneBackupsResult,
  ScopeChanges,
  RetentionPolicy,
  RetentionPlan,
  RetentionDecision,
} from './backup/Backups.js';
export type { BackupKeyInput, Compression } from './backup/file/index.js';
export { Sessions } from './sessions/Sessions.js';
export type {
  SessionStartOptions,
  SessionInfo,
  SessionListOptions,
  SessionGcOptions,
  LinkArtifactOptions,
  ArtifactChange,
  ArtifactLink,
} from './sessions/sessionTypes.js';
export type { SessionRuntimeOptions } from './runtimeOptions.js';
export { Schemas } from './schema/Schemas.js';
export type { RegisterSchemaOptions, BindSchemaOptions, SchemaInfo, SchemaBinding, CompareOptions, CompatibilityRequirement } from './schema/Schemas.js';
export { compareSchemas, compareJsonSchemas, CHANGE_KINDS } from './schema/compatibility.js';
export type { Compatibility, CompatibilityLevel, SchemaChange, ChangeKind, CompareSchemasOptions } from './schema/compatibility.js';
export type { SchemaIssue } from './schema/SchemaGuard.js';
export { Migrations } from './schema/Migrations.js';
export type {
  DefineMigrationOptions,
  MigrationInfo,
  MigrationPlan,
  CheckReport,
  CheckCounts,
  CheckFailure,
  CheckOptions,
  RunMigrationOptions,
  MigrationProgress,
  MigrationResult,
  MigrationSample,
  MigrateValueOptions,
} from './schema/Migrations.js';
export { steps } from './schema/steps.js';
export type { MigrationStep, FieldPath } from './schema/steps.js';
export { verifyStore, repairStore } from './integrity/verifyStore.js';
export type { VerifyOptions, RepairReport } from './integrity/verifyStore.js';
export type { VerifyReport, Problem as VerifyProblem, RepairRecord } from './integrity/verifyReport.js';
export type { WalCheck, LogFileCheck } from './storage/walCheck.js';
export type { LogDamage } from './storage/levelLog.js';
export { Access } from './access/Access.js';
export type { GrantsFilter } from './access/Access.js';
export type { GrantInput } from './access/grantInput.js';
export type { Grant, Quarantine } from './access/grantRecords.js';
export type { AccessDecision, AccessRule } from './access/decision.js';
export type { Permission, Operation } from './access/permissions.js';
export type { Principal } from './state/principal.js';
export type { AuditEntry, AuditFilter, AuditOutcome, AuditRecord, AuditRetention } from './access/AuditLog.js';
export type { AsOptions } from './runtimeView.js';

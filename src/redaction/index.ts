export { MAX_REDACT_DEPTH, mightRedactParsed, redact, redactJson, REDACTED, TOO_DEEP } from './redact.js';
export { redactDeadLetter, redactError, redactExecution, redactView, resultPaths } from './redactRecords.js';
export { checkRedactPaths } from './redactPaths.js';
export { mightNeedRedaction } from './prefilter.js';
export { isSecretFieldName, isSecretKeyPath } from './secretNames.js';

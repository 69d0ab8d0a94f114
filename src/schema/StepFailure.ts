import { escapeForDisplay, shortenForDisplay } from '../displayText.js';

export interface StepFailureFields {
  /** The failed step's index in the list of steps. */
  stepIndex: number;
  /** The failed step, as {@link describeStep} shows it: `convert(age → number)`. */
  step: string;
  /** The JSON path of the part of the record where it failed, as in `$.address.city`; `$` is the record. */
  path: string;
  /** Why it failed, as one clause: ``cannot convert `"abc"` (string) to a number: …``. */
  reason: string;
}

/**
 * A migration step that could not apply to a record. `applySteps` throws it; the migration that ran the
 * steps wraps it in a `MIGRATION_FAILED` error that names the record.
 *
 * @example
 * // steps[1] convert(age → number) failed at $.age: cannot convert `"forty"` (string) to a number: …
 */
export class StepFailure extends Error {
  readonly stepIndex: number;
  readonly step: string;
  readonly path: string;
  readonly reason: string;

  constructor(fields: StepFailureFields, options: { cause?: unknown } = {}) {
    super(
      escapeForDisplay(`steps[${fields.stepIndex}] ${fields.step} failed at ${shortenForDisplay(fields.path)}: ${fields.reason}`),
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'StepFailure';
    this.stepIndex = fields.stepIndex;
    this.step = fields.step;
    this.path = fields.path;
    this.reason = fields.reason;
  }
}

import { escapeForDisplay, shortenForDisplay } from '../displayText.js';
import type { MigrationStep, StepJson, UnboundCustomStep } from './stepTypes.js';

/** How long a default value may show in a step's description before it is cut. */
const DEFAULT_SHOWN_LENGTH = 40;

/**
 * A step on one line, as messages, plans and the CLI show it, with every non-printing character escaped.
 *
 * @example describeStep(steps.renameField('name', 'fullName')) // 'renameField(name → fullName)'
 * @example describeStep(steps.split('name', ['first', 'last'])) // 'split(name → first, last, separator " ")'
 */
export function describeStep(step: MigrationStep | UnboundCustomStep | StepJson): string {
  return escapeForDisplay(describe(step));
}

function describe(step: MigrationStep | UnboundCustomStep | StepJson): string {
  switch (step.op) {
    case 'renameField':
      return `renameField(${step.from} → ${step.to})`;
    case 'addField':
      return `addField(${step.path}, ${shortenForDisplay(JSON.stringify(step.default), DEFAULT_SHOWN_LENGTH, 'start')})`;
    case 'removeField':
      return `removeField(${step.path})`;
    case 'convert':
      return `convert(${step.path} → ${step.to})`;
    case 'split':
      return `split(${step.path} → ${step.into.join(', ')}, separator ${JSON.stringify(step.separator)})`;
    case 'merge':
      return `merge(${step.from.join(', ')} → ${step.into}, separator ${JSON.stringify(step.separator)})`;
    case 'custom':
      return `custom(${step.name})`;
  }
}

import { InvalidArgumentError } from 'commander';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isLlmStateError, LlmStateError } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { statPath } from './globalOptions.js';
import { UsageError } from './output.js';

/** What `--schemas <module>` exports by default: registers the application's schemas and migrations on `rt`. */
export type RegisterSchemas = (rt: Runtime) => void | Promise<void>;

/**
 * The commander parser of `--schemas`: a file that exists. Whether it is a module with the right default
 * export is found when it is imported, before the store is opened.
 */
export function parseSchemasModule(text: string): string {
  if (text.length === 0) throw new InvalidArgumentError('Expected an ES module, got an empty path.');
  const stats = statPath(text);
  if (stats === undefined) throw new InvalidArgumentError(`There is no file ${resolve(text)}.`);
  if (stats.isDirectory()) throw new InvalidArgumentError(`${resolve(text)} is a directory; name the module file.`);
  return text;
}

/**
 * Imports the module `--schemas` names, and returns its default export.
 *
 * @throws {UsageError} when it cannot be imported, or its default export is not a function.
 */
export async function loadSchemasModule(path: string): Promise<RegisterSchemas> {
  const file = resolve(path);
  let loaded: { default?: unknown };
  try {
    loaded = (await import(pathToFileURL(file).href)) as { default?: unknown };
  } catch (error) {
    throw new UsageError(`cannot import --schemas ${file}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const register = loaded.default;
  if (typeof register !== 'function') {
    throw new UsageError(`--schemas ${file} must export by default a function (rt) => { … } that registers the schemas, got ${typeof register}`);
  }
  return register as RegisterSchemas;
}

/**
 * Runs the module's function on the open runtime. Its failure keeps its code, and says where it came from.
 */
export async function registerSchemas(register: RegisterSchemas, path: string, rt: Runtime): Promise<void> {
  try {
    await register(rt);
  } catch (error) {
    const where = `while --schemas ${resolve(path)} registered the application's schemas`;
    if (isLlmStateError(error)) {
      throw new LlmStateError(error.code, `${error.message.replace(/\.?$/, '')} (${where})`, { cause: error, ...(error.details === undefined ? {} : { details: error.details }) });
    }
    throw new Error(`${error instanceof Error ? error.message : String(error)} (${where})`, { cause: error });
  }
}

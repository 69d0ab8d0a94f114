import type { Scope, StateManager } from '../../index.js';
import { isHashed, namespaceOf, namespacePath, STORE_PREFIX } from '../scopeNames.js';
import { ITEM_PREFIX, type ItemRecord } from './itemRecord.js';

const SCOPES_PAGE = 256;
const ITEMS_PAGE = 64;

/** A namespace scope, with its namespace when the scope id spells it (undefined: hashed, read a record). */
export interface NamespaceScope {
  readonly scope: Scope;
  readonly namespace: readonly string[] | undefined;
}

/**
 * Every namespace scope that holds items and whose namespace may start with `labels`: those whose id
 * starts with the labels' path, then the hashed ones, whose ids say nothing of their namespace. The caller
 * still checks each namespace, since a label's path is a prefix of a longer label's path too.
 */
export async function* namespaceScopesUnder(state: StateManager, labels: readonly string[]): AsyncGenerator<NamespaceScope> {
  const path = namespacePath(labels);
  if (labels.length === 0) {
    yield* scopesWithIdPrefix(state, STORE_PREFIX);
    return;
  }
  if (!isHashed(STORE_PREFIX, path)) yield* scopesWithIdPrefix(state, STORE_PREFIX + path);
  yield* scopesWithIdPrefix(state, `${STORE_PREFIX}#`);
}

async function* scopesWithIdPrefix(state: StateManager, prefix: string): AsyncGenerator<NamespaceScope> {
  let after: Scope | undefined;
  for (;;) {
    const page = await state.scopes({ kind: 'custom', prefix, limit: SCOPES_PAGE, ...(after === undefined ? {} : { after }) });
    for (const scope of page) yield { scope, namespace: namespaceOf(scope) };
    if (page.length < SCOPES_PAGE) return;
    after = page.at(-1);
  }
}

/** Every item record of a namespace scope, expired or not, in key order. */
export async function readItems(state: StateManager, scope: Scope): Promise<ItemRecord[]> {
  const entries = await state.entries(scope, { prefix: ITEM_PREFIX });
  return entries.map(([, record]) => record as ItemRecord);
}

/** The first item of the scope that `accept` takes, read a page at a time; undefined when none. */
export async function findItem(state: StateManager, scope: Scope, accept: (record: ItemRecord) => boolean): Promise<ItemRecord | undefined> {
  let gt: string | undefined;
  for (;;) {
    const page = await state.entries(scope, { prefix: ITEM_PREFIX, limit: ITEMS_PAGE, ...(gt === undefined ? {} : { gt }) });
    const found = page.find(([, record]) => accept(record as ItemRecord));
    if (found !== undefined) return found[1] as ItemRecord;
    if (page.length < ITEMS_PAGE) return undefined;
    gt = page.at(-1)![0];
  }
}

/** Whether `namespace` starts with `labels`, label by label. */
export function startsWithLabels(namespace: readonly string[], labels: readonly string[]): boolean {
  return labels.length <= namespace.length && labels.every((label, i) => namespace[i] === label);
}

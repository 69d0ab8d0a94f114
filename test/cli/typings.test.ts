import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { assertBuilt, PROJECT_ROOT } from './runCli.js';

const DIST = join(PROJECT_ROOT, 'dist');

function declarationFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return declarationFiles(path);
    return entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

describe('the published typings (npm run build)', function () {
  this.timeout(120_000);
  before(assertBuilt);

  it('carry no @internal member: the build strips them', () => {
    const leftovers = declarationFiles(DIST).filter((file) => readFileSync(file, 'utf8').includes('@internal'));
    assert.deepEqual(leftovers.map((file) => relative(PROJECT_ROOT, file)), []);
    const runtime = readFileSync(join(DIST, 'src/runtime.d.ts'), 'utf8');
    for (const name of ['storageOf', 'actorsOf', 'openRuntime']) assert.ok(!runtime.includes(name), `${name} is not in runtime.d.ts`);
  });

  it('compile for a consumer with library checks on: nothing public refers to a stripped declaration', () => {
    // Every entry point package.json exports: llmstate, llmstate/testing, llmstate/langgraph …
    const exported = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')).exports as Record<string, { types?: string }>;
    const entries = Object.values(exported).flatMap((entry) => (entry.types === undefined ? [] : [join(PROJECT_ROOT, entry.types)]));
    assert.ok(entries.some((file) => file.endsWith('langgraph/index.d.ts')));
    const program = ts.createProgram(entries, {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      strict: true,
      skipLibCheck: false,
      noEmit: true,
      types: ['node'],
      typeRoots: [join(PROJECT_ROOT, 'node_modules/@types')],
    });
    // Only our files are checked: those of our dependencies are theirs, and slow to check.
    const ours = [
      ...program.getGlobalDiagnostics(),
      ...program.getSourceFiles().filter((file) => file.fileName.startsWith(DIST)).flatMap((file) => [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)]),
    ];
    const messages = ours.map((diagnostic) => `${diagnostic.file ? relative(PROJECT_ROOT, diagnostic.file.fileName) : ''}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ')}`);
    assert.deepEqual(messages, []);
  });
});

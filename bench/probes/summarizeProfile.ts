/** Summarises a .cpuprofile: self time by function (top N), and by file. */
import { readFileSync } from 'node:fs';
const file = process.argv[2];
const top = Number(process.argv[3] ?? 30);
const prof = JSON.parse(readFileSync(file, 'utf8')) as { nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number; children?: number[] }[]; samples: number[]; timeDeltas: number[] };
const self = new Map<number, number>();
for (let i = 0; i < prof.samples.length; i++) self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + (prof.timeDeltas[i] ?? 0));
const total = [...self.values()].reduce((a, b) => a + b, 0);
const byFn = new Map<string, number>();
const byFile = new Map<string, number>();
for (const node of prof.nodes) {
  const t = self.get(node.id) ?? 0;
  const f = node.callFrame;
  const file = f.url.replace(/^.*\/work\/main\//, '').replace(/^file:\/\//, '') || '(native)';
  const name = `${f.functionName || '(anon)'}  ${file}:${f.lineNumber + 1}`;
  byFn.set(name, (byFn.get(name) ?? 0) + t);
  const group = file.includes('node_modules/') ? file.replace(/^.*node_modules\/((@[^/]+\/)?[^/]+).*$/, 'node_modules/$1') : file;
  byFile.set(group, (byFile.get(group) ?? 0) + t);
}
const show = (m: Map<string, number>, n: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n).forEach(([k, v]) => console.log(`${((v / total) * 100).toFixed(1).padStart(5)}%  ${(v / 1000).toFixed(0).padStart(7)} ms  ${k}`));
console.log(`total ${(total / 1000).toFixed(0)} ms`);
console.log('--- self time by function'); show(byFn, top);
console.log('--- self time by file/package'); show(byFile, 20);

// Inclusive time by function (each function counted once per stack).
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const incl = new Map<string, number>();
for (const [id, t] of self) {
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const f = byId.get(cur)!.callFrame;
    const file = f.url.replace(/^.*\/work\/main\//, '').replace(/^file:\/\//, '') || '(native)';
    const name = `${f.functionName || '(anon)'}  ${file}:${f.lineNumber + 1}`;
    if (seen.has(name)) continue;
    seen.add(name);
    incl.set(name, (incl.get(name) ?? 0) + t);
  }
}
console.log('--- inclusive time by function'); show(incl, top);

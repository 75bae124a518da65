// The structure docs/architecture.md describes, checked from the source: the import rules (and that
// a forbidden import fails them), function lengths, metadata keys and KV-cache names spelled only in
// src/format, and links in the docs that resolve.
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { META } from '../src/format/metadata.js';
import { FINETUNE_META } from '../src/format/finetune.js';
import { ROOT, checkImports, findCycle, functionSizes, rulesFromDoc, sourceFiles, stringLiterals } from './helpers/source-tree.js';

const rules = rulesFromDoc(readFileSync(path.join(ROOT, 'docs/architecture.md'), 'utf8'));
const files = sourceFiles();

describe('import rules (docs/architecture.md)', () => {
  it('the table names every unit of the tree and has no cycle', () => {
    expect([...rules.keys()].sort()).toEqual(['pipeline', 'runtime', 'src/autodiff', 'src/cli', 'src/compress', 'src/data', 'src/data/tokenizers', 'src/format', 'src/nn', 'src/onnx', 'src/protocol', 'src/train', 'src/util', 'student', 'teacher']);
    expect(rules.get('runtime')).toEqual(new Set(['src/format', 'src/data/tokenizers']));
    expect(findCycle(rules)).toBeUndefined();
  });

  it('every import in src/, teacher/, student/, runtime/ and pipeline/ keeps them, so no folders import each other in a cycle', () => {
    const { violations, edges } = checkImports(files, rules);
    expect(violations).toEqual([]);
    expect(findCycle(edges)).toBeUndefined();
    // The rules are not vacuous: the tree does use the arrows it is allowed.
    expect(edges.get('runtime')).toEqual(new Set(['src/format', 'src/data/tokenizers']));
    expect(edges.get('src/cli')).toContain('teacher');
  });

  it('fails on forbidden imports (a fixture)', () => {
    const fixture = new Map([
      ['runtime/bad.ts', "import { train } from '../src/train/job.js';\nexport const t = train;"],
      ['teacher/bad.ts', "import { distill } from '../student/distill.js';\nexport const d = distill;"],
      ['src/format/bad.ts', "import { readFileSync } from 'node:fs';\nexport const r = readFileSync;"],
      ['src/nn/bad.ts', "import type { CompressOptions } from '../compress/compress.js';\nexport type C = CompressOptions;"],
      ['src/compress/fine.ts', "import { buildModel } from '../nn/models.js';\nexport const b = buildModel;"],
      ['runtime/lazy.ts', "export const fs = () => import('node:fs/promises');"],
    ]);
    const { violations, edges } = checkImports(fixture, rules);
    expect(violations).toEqual([
      "runtime/bad.ts: runtime may not import src/train ('../src/train/job.js')",
      "teacher/bad.ts: teacher may not import student ('../student/distill.js')",
      "src/format/bad.ts: src/format may not import 'node:fs'",
      "src/nn/bad.ts: src/nn may not import src/compress ('../compress/compress.js')",
    ]);
    expect(findCycle(edges)).toEqual(['src/nn', 'src/compress', 'src/nn']);
  });
});

describe('function length', () => {
  it('no function in src/, teacher/, student/, runtime/ or pipeline/ is longer than 80 lines', () => {
    const sizes = [...files].flatMap(([file, text]) => functionSizes(file, text));
    expect(sizes.length).toBeGreaterThan(500);
    expect(sizes.filter((f) => f.lines > 80).map((f) => `${f.where}: ${f.lines} lines`)).toEqual([]);
  });

  it('measures what it should', () => {
    const text = 'export function f(): number {\n  const g = () => {\n    return 1;\n  };\n  return g();\n}\n';
    expect(functionSizes('x.ts', text).map((f) => [f.where, f.lines])).toEqual([['x.ts:1 f', 6], ['x.ts:2 (anonymous)', 3]]);
  });
});

describe('the model format is spelled in one place', () => {
  const keys = [...Object.values(META), ...Object.values(FINETUNE_META)];
  const kvCache = /past_key_values|(^|\W)present\.(\d|$)/;
  const offenders = (file: string, text: string) => stringLiterals(file, text).filter((s) => keys.some((k) => s.includes(k)) || kvCache.test(s)).map((s) => `${file}: '${s}'`);

  it('no metadata key or KV-cache name appears as a literal outside src/format', () => {
    const found = [...files].filter(([file]) => !file.startsWith('src/format/')).flatMap(([file, text]) => offenders(file, text));
    expect(found).toEqual([]);
  });

  it('finds them where they are spelled', () => {
    const format = [...files].filter(([file]) => file.startsWith('src/format/')).flatMap(([file, text]) => offenders(file, text));
    expect(format.length).toBeGreaterThanOrEqual(keys.length + 4);
    expect(offenders('x.ts', "const a = 'minnow.task'; const b = `present.${i}.key`; const c = `past_key_values.${i}`;")).toHaveLength(3);
  });
});

describe('docs', () => {
  const docs = ['README.md', ...readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  const repoPath = /^(\.\.\/|src\/|docs\/|bench\/|tests\/|examples\/|runtime\/|teacher\/|student\/)/;

  /** Relative links ([text](target)) and code spans naming repository files, each resolved. */
  function references(doc: string): { ref: string; resolved: string }[] {
    const text = readFileSync(path.join(ROOT, doc), 'utf8');
    const links = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((t) => !/^[a-z]+:/.test(t) && !t.startsWith('#'));
    const spans = [...text.matchAll(/`([^`\s]+)`/g)].map((m) => m[1]!).filter((t) => repoPath.test(t) && /\.\w+$/.test(t));
    return [
      ...links.map((ref) => ({ ref, resolved: path.resolve(ROOT, path.dirname(doc), ref.split('#')[0]!) })),
      ...spans.map((ref) => ({ ref, resolved: path.resolve(ROOT, ref) })),
    ];
  }

  it('every link and file named in README.md and docs/ exists in the repository', () => {
    const refs = docs.flatMap((doc) => references(doc).map((r) => ({ doc, ...r })));
    expect(refs.length).toBeGreaterThan(20);
    const broken = refs.filter((r) => !r.resolved.startsWith(ROOT + path.sep) || !existsSync(r.resolved)).map((r) => `${r.doc}: ${r.ref}`);
    expect(broken).toEqual([]);
  });
});

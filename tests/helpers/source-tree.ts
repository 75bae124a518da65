// Reading the source tree with the TypeScript compiler API: the imports of each file, its functions
// and their lengths, its string literals; and the import rules of docs/architecture.md.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

export const ROOT = path.resolve(__dirname, '../..');
export const SOURCE_ROOTS = ['src', 'teacher', 'student', 'runtime', 'pipeline'];

/** Repository-relative path -> source text of every .ts file under the source roots. */
export function sourceFiles(roots = SOURCE_ROOTS): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(path.join(ROOT, dir))) {
      const rel = `${dir}/${name}`;
      if (statSync(path.join(ROOT, rel)).isDirectory()) walk(rel);
      else if (rel.endsWith('.ts')) files.set(rel, readFileSync(path.join(ROOT, rel), 'utf8'));
    }
  };
  roots.forEach(walk);
  return files;
}

const parse = (file: string, text: string) => ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);

export interface Import { specifier: string; dynamic: boolean; typeOnly: boolean }

export function importsOf(file: string, text: string): Import[] {
  const out: Import[] = [];
  const visit = (node: ts.Node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const typeOnly = ts.isImportDeclaration(node) ? Boolean(node.importClause?.isTypeOnly) : node.isTypeOnly;
      out.push({ specifier: node.moduleSpecifier.text, dynamic: false, typeOnly });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) {
      out.push({ specifier: node.arguments[0].text, dynamic: true, typeOnly: false });
    }
    ts.forEachChild(node, visit);
  };
  visit(parse(file, text));
  return out;
}

/** The unit a file belongs to: a top-level folder of src/ (src/data/tokenizers on its own), or teacher, student, runtime. */
export function unitOf(file: string): string {
  const parts = file.split('/');
  if (parts[0] !== 'src') return parts[0]!;
  if (parts.length === 2) return file; // src/index.ts
  if (parts[1] === 'data' && parts[2] === 'tokenizers') return 'src/data/tokenizers';
  return `src/${parts[1]}`;
}

export type Rules = Map<string, Set<string>>;

/** The table under "## The arrows" in docs/architecture.md: unit -> the units it may import. */
export function rulesFromDoc(markdown: string): Rules {
  const section = markdown.split('## The arrows')[1]?.split('\n## ')[0] ?? '';
  const rules: Rules = new Map();
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const unit = /^`([^`]+)`$/.exec(cells[1] ?? '')?.[1];
    if (!unit) continue;
    rules.set(unit, new Set([...(cells[2] ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1]!)));
  }
  return rules;
}

/** Units whose files may not import a Node built-in or a package outside `allowed` statically. */
export const PORTABLE: Record<string, string[]> = { 'src/format': ['tiny-inflate'], 'src/data/tokenizers': ['@huggingface/tokenizers'], runtime: ['tiny-inflate'] };

export interface ImportReport { violations: string[]; edges: Map<string, Set<string>> }

/** Every import that breaks the rules, and the unit-to-unit edges the files make. */
export function checkImports(files: Map<string, string>, rules: Rules): ImportReport {
  const violations: string[] = [];
  const edges = new Map<string, Set<string>>();
  for (const [file, text] of files) {
    const from = unitOf(file);
    for (const imp of importsOf(file, text)) {
      if (!imp.specifier.startsWith('.')) {
        const portable = PORTABLE[from];
        if (portable && !imp.dynamic && !portable.includes(imp.specifier)) violations.push(`${file}: ${from} may not import '${imp.specifier}'`);
        continue;
      }
      const to = unitOf(path.posix.normalize(path.posix.join(path.posix.dirname(file), imp.specifier)));
      if (to === from) continue;
      if (!edges.has(from)) edges.set(from, new Set());
      edges.get(from)!.add(to);
      const allowed = from.startsWith('src/') && from.endsWith('.ts') ? !['src/cli', 'teacher', 'student', 'runtime', 'pipeline'].includes(to) : rules.get(from)?.has(to);
      if (!allowed) violations.push(`${file}: ${from} may not import ${to} ('${imp.specifier}')`);
    }
  }
  return { violations, edges };
}

/** A cycle in a directed graph, as a list of nodes, or undefined. */
export function findCycle(graph: Map<string, Set<string>>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const visit = (node: string, trail: string[]): string[] | undefined => {
    if (state.get(node) === 'done') return undefined;
    if (state.get(node) === 'open') return [...trail.slice(trail.indexOf(node)), node];
    state.set(node, 'open');
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next, [...trail, node]);
      if (cycle) return cycle;
    }
    state.set(node, 'done');
    return undefined;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node, []);
    if (cycle) return cycle;
  }
  return undefined;
}

export interface FunctionSize { where: string; lines: number }

/** Every function, method, accessor, constructor and arrow function with a body, and its length in lines. */
export function functionSizes(file: string, text: string): FunctionSize[] {
  const source = parse(file, text);
  const out: FunctionSize[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const start = source.getLineAndCharacterOfPosition(node.getStart()).line;
      const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      const name = (node as { name?: ts.Node }).name?.getText(source) ?? '(anonymous)';
      out.push({ where: `${file}:${start + 1} ${name}`, lines: end - start + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

/** The text of every string literal and template piece in a file. */
export function stringLiterals(file: string, text: string): string[] {
  const out: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isStringLiteralLike(node) || ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node)) out.push(node.text);
    ts.forEachChild(node, visit);
  };
  visit(parse(file, text));
  return out;
}

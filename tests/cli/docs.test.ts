// Every flag a command takes is described on its docs/ page, so the pages match `--help`.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/main.js';

const root = path.resolve(__dirname, '../..');
const PAGES: Record<string, string> = {
  train: 'cli-train.md', 'teacher train': 'cli-train.md', 'teacher serve': 'cli-teacher.md', 'teacher label': 'cli-teacher.md', distill: 'cli-distill.md', compress: 'cli-compress.md',
  eval: 'cli-eval.md', inspect: 'cli-inspect.md', 'tokenizer train': 'cli-tokenizer.md', pipeline: 'cli-pipeline.md',
};

/** Every runnable command by its full name ('teacher serve'). */
function commands(program: Command, prefix = ''): [string, Command][] {
  return program.commands.flatMap((c) => {
    const name = `${prefix}${c.name()}`;
    return c.commands.length ? commands(c, `${name} `) : [[name, c] as [string, Command]];
  });
}

describe('docs/cli-*.md', () => {
  const all = commands(buildProgram());

  it('every command has a page', () => {
    expect(all.map(([name]) => name).sort()).toEqual(Object.keys(PAGES).sort());
  });

  for (const [name, command] of all) {
    it(`${name}: every flag is on ${PAGES[name]}`, () => {
      const page = readFileSync(path.join(root, 'docs', PAGES[name]!), 'utf8');
      const flags = command.options.map((o) => o.long!).filter((f) => f !== '--help');
      // A flag counts where it stands whole (--teacher is not --teacher-model).
      expect(flags.filter((f) => !new RegExp(`${f}(?![\\w-])`).test(page))).toEqual([]);
    });
  }
});

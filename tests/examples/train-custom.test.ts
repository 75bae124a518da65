import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Rng } from '../../src/format/rng.js';

describe('examples/train-custom.ts', () => {
  it('trains a custom model on user JSONL data and exports it', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'minnow-example-'));
    const file = path.join(dir, 'data.jsonl');
    // A task a model must read to solve: does the text mention a fruit or a tool?
    const rng = new Rng(1);
    const fruit = ['apple', 'pear', 'plum', 'fig', 'lime'], tool = ['saw', 'drill', 'file', 'awl', 'vise'];
    const filler = ['the', 'a', 'my', 'one', 'big', 'old', 'red', 'new'];
    const lines: string[] = [];
    for (let i = 0; i < 600; i++) {
      const label = i % 2 ? 'fruit' : 'tool';
      const word = (label === 'fruit' ? fruit : tool)[rng.int(5)]!;
      const text = [filler[rng.int(8)], filler[rng.int(8)], word, filler[rng.int(8)], String(i)].join(' ');
      lines.push(JSON.stringify({ text, label }));
    }
    writeFileSync(file, lines.join('\n'));
    const out = path.join(dir, 'custom.onnx');
    const root = path.resolve(__dirname, '../..');
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'examples/train-custom.ts'), file, out], { cwd: root, encoding: 'utf8', timeout: 240_000 });
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(result.validation_accuracy).toBeGreaterThan(0.9);
    expect(existsSync(out)).toBe(true);
  });
});

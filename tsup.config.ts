import { defineConfig } from 'tsup';

export default defineConfig([
  {
    entry: { index: 'src/index.ts', 'teacher/index': 'teacher/index.ts', 'student/index': 'student/index.ts', 'pipeline/index': 'pipeline/index.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
  },
  {
    // The runtime is bundled on its own for browsers, phones and boards: no Node built-ins beyond a
    // lazily imported fs, no onnxruntime (the app passes its own), nothing of the trainer.
    entry: { 'runtime/index': 'runtime/index.ts', 'micro/index': 'runtime/micro/index.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    minify: true,
    sourcemap: true,
    platform: 'neutral',
    target: 'es2020',
    external: ['node:fs/promises', 'node:path'],
  },
  {
    entry: { cli: 'src/cli/main.ts' },
    format: ['esm'],
    sourcemap: true,
    target: 'node20',
  },
]);

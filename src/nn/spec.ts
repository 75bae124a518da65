// Model specs: a preset name or `kind:key=value,...`, e.g.
//   transformer:layers=4,dim=256,heads=4,ff=1024,ctx=256
//   mlp:hidden=512x2          (two hidden layers of 512; `512-256` gives layers of different widths)
//   cnn:channels=32-64,hidden=128
import type { Task } from '../format/metadata.js';
import { KIND_NAMES, modelKind, SpecError, type ArchConfig } from './kinds/index.js';

export { SpecError };

export const PRESETS: Record<string, string> = {
  'transformer-tiny': 'transformer:layers=2,dim=64,heads=2,ff=256,ctx=128',
  'transformer-small': 'transformer:layers=2,dim=128,heads=4,ff=512,ctx=256',
  'char-lm': 'transformer:layers=4,dim=128,heads=4,ff=512,ctx=128',
  'mlp-256': 'mlp:hidden=256',
  'cnn-small': 'cnn:channels=32-64,hidden=128',
  // Students: a tenth of their teacher's size or less.
  'student-tiny': 'transformer:layers=2,dim=64,heads=2,ff=256,ctx=256',
  'student-lm-tiny': 'transformer:layers=2,dim=64,heads=2,ff=256,ctx=128',
  'student-image': 'cnn:channels=8-16,hidden=32',
  // Teachers: the big model of a distillation pair.
  'teacher-base': 'transformer:layers=6,dim=384,heads=6,ff=1536,ctx=256',
  'teacher-lm': 'transformer:layers=6,dim=384,heads=6,ff=1536,ctx=128',
  'vit-base': 'vit:layers=6,dim=192,heads=6,ff=768,patch=4',
  'cnn-large': 'cnn:channels=64-128-256,hidden=512',
};

export const DEFAULT_TEACHER: Record<Task, string> = {
  classify: 'teacher-base',
  lm: 'teacher-lm',
  image: 'vit-base',
};

export const DEFAULT_MODEL: Record<Task, string> = {
  classify: 'transformer-small',
  lm: 'char-lm',
  image: 'mlp-256',
};

/** The architecture a preset or `kind:key=value,...` spec describes. */
export function parseModelSpec(spec: string): ArchConfig {
  const resolved = PRESETS[spec] ?? spec;
  const colon = resolved.indexOf(':');
  const name = colon < 0 ? resolved : resolved.slice(0, colon);
  if (!(KIND_NAMES as string[]).includes(name)) {
    throw new SpecError(`unknown model spec '${spec}': use a preset (${Object.keys(PRESETS).join(', ')}) or ${KIND_NAMES.map((k) => `${k}:...`).join(', ')}`);
  }
  const kind = modelKind(name);
  const entries = new Map<string, string>();
  for (const part of colon < 0 ? [] : resolved.slice(colon + 1).split(',').filter(Boolean)) {
    const [key, value] = part.split('=');
    if (!key || value === undefined) throw new SpecError(`model spec '${spec}': '${part}' is not key=value`);
    if (!kind.keys.includes(key)) throw new SpecError(`model spec '${spec}': unknown key '${key}' for ${name} (keys: ${kind.keys.join(', ')})`);
    entries.set(key, value);
  }
  return kind.parse(entries, spec);
}

/** Checks that an architecture can serve a task (e.g. an MLP cannot read text). */
export function checkArchForTask(arch: ArchConfig, task: Task, spec: string): void {
  if (!modelKind(arch.kind).tasks.includes(task)) {
    throw new SpecError(`model spec '${spec}' (${arch.kind}) does not fit --task ${task}: text tasks take a transformer, images a vit, mlp or cnn`);
  }
}

/** The spec string of an architecture: parseModelSpec(formatModelSpec(a)) gives a back. */
export function formatModelSpec(arch: ArchConfig): string {
  return `${arch.kind}:${modelKind(arch.kind).format(arch).join(',')}`;
}

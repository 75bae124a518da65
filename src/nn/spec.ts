// Model specs: a preset name or `kind:key=value,...`, e.g.
//   transformer:layers=4,dim=256,heads=4,ff=1024,ctx=256
//   mlp:hidden=512x2          (two hidden layers of 512; `512-256` gives layers of different widths)
//   cnn:channels=32-64,hidden=128
import type { Activation } from './layers.js';
import type { ArchConfig, CnnConfig, MlpConfig, Task, TransformerConfig, VitConfig } from './models.js';

export class SpecError extends Error {
  override name = 'SpecError';
}

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

const KEYS = {
  transformer: ['layers', 'dim', 'heads', 'head_dim', 'ff', 'ctx', 'pool', 'activation', 'dropout'],
  mlp: ['hidden', 'activation', 'dropout'],
  cnn: ['channels', 'hidden', 'dropout'],
  vit: ['layers', 'dim', 'heads', 'head_dim', 'ff', 'patch', 'activation', 'dropout'],
} as const;

function widths(value: string, key: string): number[] {
  const m = /^(\d+)x(\d+)$/.exec(value);
  if (m) return Array.from({ length: Number(m[2]) }, () => Number(m[1]));
  const parts = value.split('-').map(Number);
  if (parts.some((p) => !Number.isInteger(p) || p <= 0)) throw new SpecError(`${key}=${value}: expected widths like 256, 512x2 or 512-256`);
  return parts;
}

function positiveInt(value: string, key: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new SpecError(`${key}=${value}: expected a positive integer`);
  return n;
}

function fraction(value: string, key: string): number {
  const n = Number(value);
  if (!(n >= 0 && n < 1)) throw new SpecError(`${key}=${value}: expected a number in [0, 1)`);
  return n;
}

function activation(value: string | undefined): Activation | undefined {
  if (value === undefined) return undefined;
  if (value !== 'gelu' && value !== 'gelu_tanh' && value !== 'relu') throw new SpecError(`activation=${value}: expected gelu, gelu_tanh or relu`);
  return value;
}

/** head_dim=N sets the attention width per head; without it, dim must split evenly into heads. */
function headWidth(cfg: TransformerConfig | VitConfig, value: string | undefined, spec: string): void {
  if (value !== undefined) cfg.headDim = positiveInt(value, 'head_dim');
  else if (cfg.dim % cfg.heads !== 0) throw new SpecError(`model spec '${spec}': dim ${cfg.dim} must be divisible by heads ${cfg.heads} (or give head_dim)`);
}

export function parseModelSpec(spec: string): ArchConfig {
  const resolved = PRESETS[spec] ?? spec;
  const colon = resolved.indexOf(':');
  const kind = colon < 0 ? resolved : resolved.slice(0, colon);
  if (!(kind in KEYS)) {
    throw new SpecError(`unknown model spec '${spec}': use a preset (${Object.keys(PRESETS).join(', ')}) or transformer:..., vit:..., mlp:..., cnn:...`);
  }
  const allowed = KEYS[kind as keyof typeof KEYS] as readonly string[];
  const entries = new Map<string, string>();
  for (const part of colon < 0 ? [] : resolved.slice(colon + 1).split(',').filter(Boolean)) {
    const [key, value] = part.split('=');
    if (!key || value === undefined) throw new SpecError(`model spec '${spec}': '${part}' is not key=value`);
    if (!allowed.includes(key)) throw new SpecError(`model spec '${spec}': unknown key '${key}' for ${kind} (keys: ${allowed.join(', ')})`);
    entries.set(key, value);
  }
  const get = (k: string) => entries.get(k);
  if (kind === 'transformer') {
    const cfg: TransformerConfig = {
      kind,
      layers: positiveInt(get('layers') ?? '2', 'layers'),
      dim: positiveInt(get('dim') ?? '128', 'dim'),
      heads: positiveInt(get('heads') ?? '4', 'heads'),
      ff: positiveInt(get('ff') ?? String(4 * Number(get('dim') ?? 128)), 'ff'),
      ctx: positiveInt(get('ctx') ?? '128', 'ctx'),
      dropout: fraction(get('dropout') ?? '0', 'dropout'),
    };
    const pool = get('pool');
    if (pool !== undefined) {
      if (pool !== 'mean' && pool !== 'cls') throw new SpecError(`pool=${pool}: expected mean or cls`);
      cfg.pool = pool;
    }
    const act = activation(get('activation'));
    if (act) cfg.activation = act;
    headWidth(cfg, get('head_dim'), spec);
    return cfg;
  }
  if (kind === 'vit') {
    const cfg: VitConfig = {
      kind,
      layers: positiveInt(get('layers') ?? '6', 'layers'),
      dim: positiveInt(get('dim') ?? '192', 'dim'),
      heads: positiveInt(get('heads') ?? '6', 'heads'),
      ff: positiveInt(get('ff') ?? String(4 * Number(get('dim') ?? 192)), 'ff'),
      patch: positiveInt(get('patch') ?? '4', 'patch'),
      dropout: fraction(get('dropout') ?? '0', 'dropout'),
    };
    const act = activation(get('activation'));
    if (act) cfg.activation = act;
    headWidth(cfg, get('head_dim'), spec);
    return cfg;
  }
  if (kind === 'mlp') {
    const cfg: MlpConfig = { kind, hidden: widths(get('hidden') ?? '256', 'hidden'), dropout: fraction(get('dropout') ?? '0', 'dropout') };
    const act = activation(get('activation'));
    if (act) cfg.activation = act;
    return cfg;
  }
  const cfg: CnnConfig = {
    kind: 'cnn',
    channels: widths(get('channels') ?? '32-64', 'channels'),
    hidden: get('hidden') === '0' ? 0 : positiveInt(get('hidden') ?? '128', 'hidden'),
    dropout: fraction(get('dropout') ?? '0', 'dropout'),
  };
  return cfg;
}

/** Checks that an architecture can serve a task (e.g. an MLP cannot read text). */
export function checkArchForTask(arch: ArchConfig, task: Task, spec: string): void {
  const ok = arch.kind === 'transformer' ? task !== 'image' : task === 'image';
  if (!ok) throw new SpecError(`model spec '${spec}' (${arch.kind}) does not fit --task ${task}: text tasks take a transformer, images a vit, mlp or cnn`);
}

/** The spec string of an architecture: parseModelSpec(formatModelSpec(a)) gives a back. */
export function formatModelSpec(arch: ArchConfig): string {
  const parts: string[] = [];
  const add = (key: string, value: unknown) => { if (value !== undefined) parts.push(`${key}=${value}`); };
  switch (arch.kind) {
    case 'transformer':
      add('layers', arch.layers); add('dim', arch.dim); add('heads', arch.heads); add('head_dim', arch.headDim); add('ff', arch.ff);
      add('ctx', arch.ctx); add('pool', arch.pool); add('activation', arch.activation);
      break;
    case 'vit':
      add('layers', arch.layers); add('dim', arch.dim); add('heads', arch.heads); add('head_dim', arch.headDim); add('ff', arch.ff);
      add('patch', arch.patch); add('activation', arch.activation);
      break;
    case 'mlp':
      add('hidden', arch.hidden.join('-')); add('activation', arch.activation);
      break;
    case 'cnn':
      add('channels', arch.channels.join('-')); add('hidden', arch.hidden);
      break;
  }
  if (arch.dropout) add('dropout', arch.dropout);
  return `${arch.kind}:${parts.join(',')}`;
}

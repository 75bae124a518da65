// Structured pruning: a model minnow built becomes the same architecture with fewer layers, a
// narrower residual stream, fewer attention heads, fewer FFN neurons (Transformer, ViT) or fewer
// conv channels and dense neurons (CNN, MLP). Each unit is scored from the weights alone (no data),
// the best are kept (each kind's plan in src/nn/kinds says how), and the model is rebuilt from the
// smaller spec with the kept slices copied in, so the result is a plain dense graph that any ONNX
// Runtime runs faster. Accuracy drops until recovery training: `minnow distill --init-from` or
// `minnow train --init-from`.
import { buildModel, type ModelShape } from '../../nn/models.js';
import { checkArchForTask, formatModelSpec, parseModelSpec } from '../../nn/spec.js';
import { modelKind, StructuredPruneError, type StructuredTargets } from '../../nn/kinds/index.js';
import type { Graph } from '../../onnx/graph.js';
import type { Tensor } from '../../onnx/tensor.js';
import { META, type Task } from '../../format/metadata.js';
import { INPUT } from '../../format/names.js';

export { StructuredPruneError, type StructuredTargets };

const KEYS = ['layers', 'dim', 'heads', 'ff', 'ffn', 'channels', 'hidden'];

/** `heads=1,ffn=128,dim=48` or `channels=8-12,hidden=24`: the widths to prune down to. */
export function parseStructuredTargets(text: string): StructuredTargets {
  const targets: StructuredTargets = {};
  for (const part of text.split(',').filter(Boolean)) {
    const [key, value] = part.split('=');
    if (!key || value === undefined || !KEYS.includes(key)) {
      throw new StructuredPruneError(`--structured '${part}': expected key=value with key one of ${KEYS.join(', ')}`);
    }
    const widths = value.split('-').map(Number);
    if (widths.some((w) => !Number.isInteger(w) || w <= 0)) throw new StructuredPruneError(`--structured ${part}: expected positive integers (a-b for several layers)`);
    if (key === 'channels' || key === 'hidden') targets[key] = widths;
    else {
      if (widths.length !== 1) throw new StructuredPruneError(`--structured ${part}: expected one number`);
      targets[key === 'ffn' ? 'ff' : (key as 'layers' | 'dim' | 'heads' | 'ff')] = widths[0]!;
    }
  }
  if (Object.keys(targets).length === 0) throw new StructuredPruneError(`--structured '${text}': nothing to prune; e.g. heads=1,ffn=128`);
  return targets;
}

export interface StructuredReport {
  spec_before: string;
  spec_after: string;
  params_before: number;
  params_after: number;
}

export function pruneStructured(old: Graph, targets: StructuredTargets): { graph: Graph; report: StructuredReport } {
  const spec = old.metadata.get(META.model);
  const task = old.metadata.get(META.task) as Task | undefined;
  if (!spec || !task) throw new StructuredPruneError(`structured pruning needs a model that minnow trained (its metadata names the architecture); this file has no ${META.model}`);
  const arch = parseModelSpec(spec);
  checkArchForTask(arch, task, spec);
  const w = (name: string): Tensor => {
    const t = old.initializers.get(name);
    if (!t || t.dtype !== 'float32') throw new StructuredPruneError(`structured pruning needs float32 weights, and '${name}' is ${t ? t.dtype : 'missing'}; prune before you quantize`);
    return t;
  };
  const shape = modelShape(old, task, w);
  const plan = modelKind(arch.kind).planPruning(arch, targets, w);

  const built = buildModel(plan.arch, shape, { seed: 0 }).graph;
  for (const [name, init] of [...built.initializers]) {
    if (!built.params.has(name)) continue;
    const value = plan.source(name);
    if (value.dims.join() !== init.dims.join()) throw new Error(`structured pruning: '${name}' came out [${value.dims}], the model wants [${init.dims}]`);
    built.initializers.set(name, value);
    built.constants.set(name, value);
  }
  for (const [k, v] of old.metadata) built.metadata.set(k, v);
  const specAfter = formatModelSpec(plan.arch);
  built.metadata.set(META.model, specAfter);
  // The old metrics describe the unpruned model; recovery training writes new ones.
  built.metadata.delete(META.metrics);
  // Parameters as training counts them (not constant tables such as the causal mask).
  const count = (names: Iterable<string>, g: Graph) => [...names].reduce((n, p) => n + g.initializers.get(p)!.size, 0);
  const paramsBefore = count(buildModel(arch, shape, { seed: 0 }).graph.params, old);
  return { graph: built, report: { spec_before: spec, spec_after: specAfter, params_before: paramsBefore, params_after: count(built.params, built) } };
}

function modelShape(g: Graph, task: Task, w: (n: string) => Tensor): ModelShape {
  if (task === 'image') {
    const dims = g.type(INPUT.pixels).shape;
    if (dims.length !== 4 || dims.slice(1).some((d) => typeof d !== 'number')) throw new StructuredPruneError('structured pruning: the image input pixels has no static [c, h, w]');
    return { task, numClasses: w('head.weight').dims[1], imageShape: dims.slice(1) as [number, number, number] };
  }
  const vocabSize = w('tok_emb.weight').dims[0];
  return task === 'lm' ? { task, vocabSize } : { task, vocabSize, numClasses: w('head.weight').dims[1] };
}

// `--finetunable`: the training step of a classifier's chosen part, built at export and carried in
// the model file (src/format/finetune.ts), so that minnow/runtime fine-tunes on the device with the
// app's ONNX Runtime alone, and never needs the autodiff or the trainer.
//
// The part is cut out of the inference graph itself: the nodes between its weights and the logits.
// What those nodes read from the frozen part becomes an extra output of the inference graph (the
// runtime computes it with the model as shipped, quantized) and an input of the step.
import type { Graph, Node } from '../onnx/graph.js';
import { Graph as StepGraph } from '../onnx/graph.js';
import { decodeModel, encodeModel } from '../onnx/codec.js';
import { lowerForOnnxruntime } from '../onnx/lower.js';
import { grad } from '../autodiff/grad.js';
import { META } from '../format/metadata.js';
import { OUTPUT } from '../format/names.js';
import { FINETUNE_IO, FINETUNE_META, type FinetuneSpec } from '../format/finetune.js';
import { FinetunableError, partName, trainableWeights, type FinetunePart } from '../compress/finetunable.js';
import { crossEntropy } from './losses.js';
import { inertEntries } from '../nn/attention.js';
import { Tensor } from '../onnx/tensor.js';
import { appendOptimizer, clipByGlobalNorm } from './optimizers.js';

export interface FinetuneStepOptions { weightDecay?: number; maxGradNorm?: number }

/** The nodes from `params` to `logits`, and what they read from outside. */
interface Part { nodes: Node[]; features: string[]; frozen: string[]; constants: Node[] }

function cutPart(g: Graph, params: string[], logits: string): Part {
  const reached = new Set(params);
  const forward = g.nodes.filter((node) => {
    if (!node.inputs.some((x) => reached.has(x))) return false;
    for (const out of node.outputs) reached.add(out);
    return true;
  });
  const wanted = new Set([logits]);
  const nodes = forward.reverse().filter((node) => {
    if (!node.outputs.some((x) => wanted.has(x))) return false;
    for (const x of node.inputs) wanted.add(x);
    return true;
  }).reverse();
  const made = new Set(nodes.flatMap((n) => n.outputs));
  const part: Part = { nodes, features: [], frozen: [], constants: [] };
  for (const x of new Set(nodes.flatMap((n) => n.inputs))) {
    if (x === '' || made.has(x) || params.includes(x)) continue;
    const producer = g.producer(x);
    if (g.initializers.has(x)) part.frozen.push(x);
    else if (producer?.opType === 'Constant') part.constants.push(producer);
    else part.features.push(x);
  }
  return part;
}

/** Gradients with the entries that change no output (attention.ts) set to zero: they stay as shipped. */
function withoutInertEntries(s: StepGraph, grads: Map<string, string>): Map<string, string> {
  for (const [p, gradient] of grads) {
    const size = (s.shape(p) as number[]).reduce((a, b) => a * b, 1);
    const inert = inertEntries(p, size);
    if (!inert) continue;
    const mask = Float32Array.from({ length: size }, (_, i) => (i >= inert[0] && i < inert[1] ? 0 : 1));
    grads.set(p, s.op1('Mul', [gradient, s.constant(new Tensor('float32', s.shape(p) as number[], mask))], {}, { name: `grad_kept.${p}` }));
  }
  return grads;
}

function buildStep(g: Graph, params: string[], part: Part, logits: string, options: FinetuneStepOptions): { bytes: Uint8Array; state: FinetuneSpec['state'] } {
  const s = new StepGraph('minnow_finetune_step');
  for (const [domain, version] of g.opsets) s.opsets.set(domain, version);
  const rename = new Map(part.features.map((x, i) => [x, FINETUNE_IO.feature(i)]));
  part.features.forEach((x, i) => s.input(FINETUNE_IO.feature(i), g.dtype(x), g.shape(x)));
  for (const p of params) s.input(p, 'float32', g.shape(p));
  for (const w of part.frozen) s.initializer(w, g.initializers.get(w)!);
  for (const node of [...part.constants, ...part.nodes]) s.addNode({ ...node, inputs: node.inputs.map((x) => rename.get(x) ?? x) });
  const labels = s.input(FINETUNE_IO.labels, 'int64', [g.shape(logits)[0]!]);
  const named = (value: string, name: string) => (value === name ? value : s.alias(value, name));
  const loss = named(crossEntropy(s, logits, labels), FINETUNE_IO.loss);
  const clipped = clipByGlobalNorm(s, withoutInertEntries(s, grad(s, loss, params)), options.maxGradNorm ?? 1);
  const opt = appendOptimizer(s, params, clipped.grads, { kind: 'adamw', weightDecay: options.weightDecay ?? 0.01 });
  for (const out of [loss, named(logits, FINETUNE_IO.logits), named(clipped.norm, FINETUNE_IO.gradNorm)]) s.output(out);
  for (const p of params) s.output(named(opt.nextParams.get(p)!, FINETUNE_IO.next(p)));
  for (const st of opt.state) s.output(named(st.next, FINETUNE_IO.next(st.name)));
  lowerForOnnxruntime(s);
  return { bytes: encodeModel(s), state: opt.state.map((st) => ({ name: st.name, param: st.param })) };
}

/**
 * Adds the training step of `part` to an inference graph, in place: the step as metadata, and the
 * values it reads from the frozen part as extra outputs. The part's weights must be float32.
 */
export function addFinetuneStep(g: Graph, part: FinetunePart, options: FinetuneStepOptions = {}): FinetuneSpec {
  const logits = g.outputs.includes(OUTPUT.logits) ? OUTPUT.logits : g.outputs[0]!;
  // A classifier's logits are [batch, classes]; a language model's have a position axis too.
  if (g.metadata.get(META.task) === 'lm' || g.shape(logits).length !== 2) throw new FinetunableError('--finetunable fine-tunes classifiers; this is a language model');
  const params = trainableWeights(g, part);
  for (const p of params) {
    const dtype = g.initializers.get(p)!.dtype;
    if (dtype !== 'float32') throw new FinetunableError(`weight '${p}' is ${dtype} in this file: compress the float model with --finetunable ${partName(part)} so that the part stays float32`);
  }
  const cut = cutPart(g, params, logits);
  const { bytes, state } = buildStep(g, params, cut, logits, options);
  cut.features.forEach((x, i) => g.output(g.alias(x, FINETUNE_IO.feature(i))));
  const spec: FinetuneSpec = {
    format: 1, part: partName(part), features: cut.features.map((_, i) => FINETUNE_IO.feature(i)), params, state,
    optimizer: { kind: 'adamw', beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: options.weightDecay ?? 0.01, maxGradNorm: options.maxGradNorm ?? 1 },
  };
  g.metadata.set(FINETUNE_META.spec, JSON.stringify(spec));
  g.metadata.set(FINETUNE_META.graph, Buffer.from(bytes).toString('base64'));
  return spec;
}

/** A model file with the training step of `part` added (addFinetuneStep on its graph). */
export function withFinetuneStep(bytes: Uint8Array, part: FinetunePart, options: FinetuneStepOptions = {}): Uint8Array {
  const { graph } = decodeModel(bytes);
  addFinetuneStep(graph, part, options);
  return encodeModel(graph);
}

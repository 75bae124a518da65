// `--init-from model.onnx`: start training from a finished model's weights instead of a random
// initialisation, e.g. to recover accuracy after structured pruning. The file names its own
// architecture, tokenizer and labels in its metadata, so a run takes those from it. A language model
// may also start a classifier of the same architecture (pretrain on text, then fine-tune on labels):
// everything but the output head carries over, and the classifier's head starts fresh.
import type { Task } from '../format/metadata.js';
import { formatModelSpec, parseModelSpec, SpecError } from '../nn/spec.js';
import type { Tensor } from '../onnx/tensor.js';
import { ModelFileError, readOnnxFile } from '../onnx/model-file.js';
import { META } from '../format/metadata.js';
import { tokenizerJsonOf } from '../format/tokenizer.js';

export interface InitModel {
  file: string;
  /** The task the file was trained for: 'lm' when it starts a classifier from a pretrained body. */
  task: Task;
  /** Only the body carries over (a language model starting a classifier): the head starts fresh. */
  bodyOnly: boolean;
  /** The architecture the file was built with (its minnow.model). */
  spec: string;
  tokenizerJson?: string;
  labels?: string[];
  weights: Map<string, Tensor>;
}

export function readInitModel(file: string, task: Task, model: string | undefined, verify = true): InitModel {
  const { graph } = readOnnxFile(file, { verify });
  const spec = graph.metadata.get(META.model);
  const fileTask = graph.metadata.get(META.task);
  if (!spec || !fileTask) throw new ModelFileError(`--init-from ${file}: no minnow metadata (${META.model}, ${META.task}); it needs a model that minnow trained, compressed or pruned`);
  if (fileTask !== task && !(fileTask === 'lm' && task === 'classify')) {
    throw new ModelFileError(`--init-from ${file}: a --task ${fileTask} model cannot start a --task ${task} run${task === 'classify' ? ' (of other tasks, only a language model can start a classifier)' : ''}`);
  }
  if (model !== undefined && formatModelSpec(parseModelSpec(model)) !== formatModelSpec(parseModelSpec(spec))) {
    throw new SpecError(`--model ${model} differs from the architecture of --init-from ${file} (${spec}); leave --model out to use the file's`);
  }
  const labels = graph.metadata.get(META.labels);
  return { file, task: fileTask as Task, bodyOnly: fileTask !== task, spec, tokenizerJson: tokenizerJsonOf(graph.metadata), labels: labels ? JSON.parse(labels) as string[] : undefined, weights: graph.initializers };
}

/** The output head: the one part of a pretrained language model that a classifier cannot use. */
const HEAD_PREFIX = 'head.';

/**
 * The starting value of each parameter, checked against what the model expects. A classifier started
 * from a language model takes every parameter but its head, which keeps the value in `expected`.
 */
export function initialParams(init: InitModel, expected: Map<string, Tensor>): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [name, want] of expected) {
    if (init.bodyOnly && name.startsWith(HEAD_PREFIX)) continue;
    const got = init.weights.get(name);
    if (!got || got.dtype !== 'float32') {
      const quantized = [...init.weights.keys()].some((k) => k.startsWith(`${name}.int`));
      throw new ModelFileError(`--init-from ${init.file}: no float32 parameter '${name}'${quantized ? ' (the file is quantized; start from the float model and quantize after training)' : ''}`);
    }
    if (got.dims.join() !== want.dims.join()) throw new ModelFileError(`--init-from ${init.file}: '${name}' is [${got.dims}], the model wants [${want.dims}]`);
    out.set(name, got);
  }
  return out;
}

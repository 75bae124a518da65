// The contract between `--finetunable` (src/train/finetune-step.ts writes it) and the runtime's
// model.finetune() (runtime/finetune.ts reads it): the names the training step reads and writes.
//
// The step is one ONNX model. It reads the inference graph's `features` outputs (what the frozen part
// computes, run once per batch), the trainable weights under their own names, their AdamW state, the
// per-step scalars and `labels`; it writes `loss`, `logits`, `grad_norm` and, for every weight and
// state tensor X, its next value `X.next`.

/**
 * The two metadata entries of a file that carries a training step. (Apart from META, so that
 * minnow/micro, which cannot fine-tune, does not carry their names.)
 */
export const FINETUNE_META = {
  /** What fine-tuning on the device trains and how: a FinetuneSpec as JSON. */
  spec: 'minnow.finetune',
  /** The training step of that part: an ONNX model, base64-encoded. */
  graph: 'minnow.finetune.onnx',
} as const;

export interface FinetuneSpec {
  format: 1;
  /** 'head', 'last:N' or 'all'. */
  part: string;
  /** Inference-graph outputs that are also the step's inputs, in order. */
  features: string[];
  /** Trainable float32 initializers of the inference graph. */
  params: string[];
  /** AdamW moments: the step input's name and the weight whose shape (zeros) it starts from. */
  state: { name: string; param: string }[];
  optimizer: { kind: 'adamw'; beta1: number; beta2: number; eps: number; weightDecay: number; maxGradNorm: number };
}

const FEATURE = 'finetune.in.';

export const FINETUNE_IO = {
  labels: 'labels',
  loss: 'loss',
  logits: 'logits',
  gradNorm: 'grad_norm',
  lr: 'opt.lr',
  biasCorrection1: 'opt.bias_correction1',
  biasCorrection2: 'opt.bias_correction2',
  next: (name: string) => `${name}.next`,
  feature: (i: number) => `${FEATURE}${i}`,
} as const;

/** An output of the inference graph that only the training step reads. */
export const isFinetuneFeature = (name: string) => name.startsWith(FEATURE);

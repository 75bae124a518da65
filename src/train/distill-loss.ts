// The distillation loss: alpha * T^2 * KL(teacher_T || student_T) + (1 - alpha) * CE(labels).
// Teacher soft labels come in as graph inputs, either the full log-distribution or its top k plus
// one tail bucket holding the rest of the mass (docs/cli-distill.md).
import type { Graph } from '../onnx/graph.js';
import { ONNX_DATA_TYPE } from '../onnx/tensor.js';
import { crossEntropy, labelledCrossEntropy } from './losses.js';

export const TEACHER_INPUTS = {
  logProbs: 'teacher.log_probs',
  indices: 'teacher.indices',
  tailMass: 'teacher.tail_mass',
} as const;

export interface DistillLossOptions {
  alpha: number;
  temperature: number;
  /** 0: full distributions; k > 0: top-k + tail. */
  topK: number;
  /** Whether hard labels exist (false: soft loss alone). */
  hardLabels: boolean;
  /** Rows with this label (examples nobody labelled) count in the soft loss only; the hard one averages over the rest. */
  ignoreLabel?: number;
}

/**
 * The log-probability of a top-k slot that holds no token: a student with a pruned vocabulary
 * (--vocab-prune) gets the teacher's top k without the tokens it does not have. Such a slot adds
 * nothing to the loss, and its index, any valid one, is not counted out of the student's tail.
 */
export const EMPTY_SLOT = -1e4;

/** Floor for probabilities inside logs, so an empty tail does not give log(0). */
const FLOOR = 1e-7;

export function distillationLoss(g: Graph, logits: string, labels: string, options: DistillLossOptions): string {
  const { alpha, temperature: T, topK } = options;
  const lead = g.shape(logits).slice(0, -1);
  const k = (v: number) => g.scalar(v, 'float32');
  const studentLogQ = g.op1('LogSoftmax', [g.op1('Div', [logits, k(T)])], { axis: -1 }, { name: 'student_logq' });
  let klPerPosition: string;
  if (topK === 0) {
    const vocab = g.shape(logits).at(-1)!;
    const teacher = g.input(TEACHER_INPUTS.logProbs, 'float32', [...lead, vocab]);
    klPerPosition = g.op1('ReduceSum', [g.op1('Mul', [g.op1('Exp', [teacher]), g.op1('Sub', [teacher, studentLogQ])]), g.int64s([-1])], { keepdims: 0 });
  } else {
    const teacher = g.input(TEACHER_INPUTS.logProbs, 'float32', [...lead, topK]);
    const indices = g.input(TEACHER_INPUTS.indices, 'int64', [...lead, topK]);
    const tail = g.input(TEACHER_INPUTS.tailMass, 'float32', lead);
    const studentTop = g.op1('GatherElements', [studentLogQ, indices], { axis: -1 }, { name: 'student_top' });
    const head = g.op1('ReduceSum', [g.op1('Mul', [g.op1('Exp', [teacher]), g.op1('Sub', [teacher, studentTop])]), g.int64s([-1])], { keepdims: 0 });
    // The tail bucket: the student's mass outside the teacher's top k against the teacher's.
    const live = g.op1('Cast', [g.op1('Greater', [teacher, k(EMPTY_SLOT / 2)])], { to: ONNX_DATA_TYPE.float32 });
    const studentTail = g.op1('Sub', [k(1), g.op1('ReduceSum', [g.op1('Mul', [g.op1('Exp', [studentTop]), live]), g.int64s([-1])], { keepdims: 0 })]);
    const logStudentTail = g.op1('Log', [g.op1('Max', [studentTail, k(FLOOR)])]);
    const logTeacherTail = g.op1('Log', [g.op1('Max', [tail, k(FLOOR)])]);
    klPerPosition = g.op1('Add', [head, g.op1('Mul', [tail, g.op1('Sub', [logTeacherTail, logStudentTail])])]);
  }
  const kl = g.op1('ReduceMean', [klPerPosition], { keepdims: 0 }, { name: 'kd_kl' });
  const soft = g.op1('Mul', [kl, k(T * T)], {}, { name: 'kd_soft' });
  if (!options.hardLabels || alpha >= 1) return soft;
  const hard = options.ignoreLabel === undefined ? crossEntropy(g, logits, labels) : labelledCrossEntropy(g, logits, labels, options.ignoreLabel);
  return g.op1('Add', [g.op1('Mul', [soft, k(alpha)]), g.op1('Mul', [hard, k(1 - alpha)])], {}, { name: 'kd_loss' });
}

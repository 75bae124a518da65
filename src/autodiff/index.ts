export { grad, differentiableOps, type GradOptions } from './grad.js';
export { GradientError, type Vjp, type VjpContext } from '../onnx/ops/vjp.js';

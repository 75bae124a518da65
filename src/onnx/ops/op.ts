// What minnow knows about an ONNX op: its shape rule, and how the gradient flows back through it.
// Each op family's file holds its ops' definitions, builders and VJPs together; index.ts is the table.
import type { ShapeRule } from './shape-rule.js';
import type { Vjp } from './vjp.js';

export interface OpDef {
  shape: ShapeRule;
  /**
   * The vector-Jacobian product; 'none' where the outputs carry no gradient (shapes, comparisons,
   * indices); absent where minnow cannot differentiate the op (grad() says so if it must).
   */
  vjp?: Vjp | 'none';
  /** The operator set (default: ONNX's own, ''). */
  domain?: string;
}

export type OpTable = Record<string, OpDef>;

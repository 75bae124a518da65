// What fuse.ts folds into a product at load, and what it must leave alone: the values of a folded
// graph are checked against onnxruntime-node in micro-ops.test.ts; here, the shape of the result.
import { describe, expect, it } from 'vitest';
import { Graph } from '../../src/onnx/graph.js';
import { encodeModel } from '../../src/onnx/codec.js';
import { readGraph } from '../../runtime/micro/graph.js';
import { fuse } from '../../runtime/micro/fuse.js';

function fused(build: (g: Graph) => string | string[]): ReturnType<typeof fuse> {
  const g = new Graph('fuse');
  const outs = build(g);
  for (const o of [outs].flat()) g.output(o);
  return fuse(readGraph(encodeModel(g)));
}

describe('fuse', () => {
  it('folds bias, activation and residual into the MatMul, at the chain end', () => {
    const nodes = fused((g) => {
      const x = g.input('x', 'float32', [2, 3]), w = g.input('w', 'float32', [3, 3]), b = g.input('b', 'float32', [3]);
      return g.op1('Add', [x, g.op1('Relu', [g.op1('Add', [b, g.op1('MatMul', [x, w])])])]);
    });
    expect(nodes.map((n) => n.op)).toEqual(['MatMul']);
    expect(nodes[0]!.epilogue).toEqual([{ op: 'Add', input: 2 }, { op: 'Relu', tanh: false }, { op: 'Add', input: 3 }]);
    expect(nodes[0]!.inputs).toEqual(['x', 'w', 'b', 'x']);
  });

  it('folds the int8 chain: Cast to float, scale, Identity, bias', () => {
    const nodes = fused((g) => {
      const a = g.input('a', 'uint8', [2, 3]), w = g.input('w', 'int8', [3, 4]), s = g.input('s', 'float32', [4]), b = g.input('b', 'float32', [4]);
      const y = g.op1('Mul', [g.op1('Cast', [g.op1('MatMulInteger', [a, w])], { to: 1 }), s]);
      return g.op1('Add', [g.op1('Identity', [y]), b]);
    });
    expect(nodes.map((n) => n.op)).toEqual(['MatMulInteger']);
    expect(nodes[0]!.castToFloat).toBe(true);
    expect(nodes[0]!.epilogue).toEqual([{ op: 'Mul', input: 4 }, { op: 'Add', input: 5 }]);
  });

  it('gives an Add of two products to one of them only (the other runs alone, before it)', () => {
    const nodes = fused((g) => {
      const x = g.input('x', 'float32', [2, 3]), a = g.input('a', 'float32', [3, 3]), b = g.input('b', 'float32', [3, 3]);
      return g.op1('Relu', [g.op1('Add', [g.op1('MatMul', [x, a]), g.op1('MatMul', [x, b])])]);
    });
    expect(nodes.map((n) => n.op)).toEqual(['MatMul', 'MatMul']);
    expect(nodes[0]!.epilogue).toBeUndefined();
    expect(nodes[1]!.epilogue).toEqual([{ op: 'Add', input: 2 }, { op: 'Relu', tanh: false }]);
    expect(nodes[1]!.inputs[2]).toBe(nodes[0]!.outputs[0]);
  });

  it('leaves alone a value read twice, a graph output, an integer product without its Cast, and Sub', () => {
    const readTwice = fused((g) => {
      const x = g.input('x', 'float32', [2, 3]), w = g.input('w', 'float32', [3, 3]);
      const y = g.op1('MatMul', [x, w]);
      return g.op1('Mul', [g.op1('Add', [y, x]), y]);
    });
    expect(readTwice.map((n) => n.op)).toEqual(['MatMul', 'Add', 'Mul']);
    const output = fused((g) => {
      const x = g.input('x', 'float32', [2, 3]), w = g.input('w', 'float32', [3, 3]);
      const y = g.op1('MatMul', [x, w]);
      return [y, g.op1('Relu', [y])];
    });
    expect(output.map((n) => n.op)).toEqual(['MatMul', 'Relu']);
    const integer = fused((g) => {
      const a = g.input('a', 'uint8', [2, 3]), w = g.input('w', 'int8', [3, 4]), z = g.input('z', 'int32', [4]);
      return g.op1('Add', [g.op1('MatMulInteger', [a, w]), z]);
    });
    expect(integer.map((n) => n.op)).toEqual(['MatMulInteger', 'Add']);
    const sub = fused((g) => {
      const x = g.input('x', 'float32', [2, 3]), w = g.input('w', 'float32', [3, 3]);
      return g.op1('Sub', [g.op1('MatMul', [x, w]), x]);
    });
    expect(sub.map((n) => n.op)).toEqual(['MatMul', 'Sub']);
    expect(sub[0]!.epilogue).toBeUndefined();
  });
});

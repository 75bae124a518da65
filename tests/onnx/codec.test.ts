import { describe, expect, it } from 'vitest';
import { Graph, type Node } from '../../src/onnx/graph.js';
import { f } from '../../src/onnx/attrs.js';
import { Tensor } from '../../src/onnx/tensor.js';
import { decodeModel, encodeModel } from '../../src/onnx/codec.js';
import { checkGraph, GraphCheckError } from '../../src/onnx/check.js';
import { broadcastShapes } from '../../src/onnx/ops/shape-rule.js';
import { createSession, run, checkDevice, parseDevice, DeviceError } from '../../src/onnx/runtime.js';

describe('ONNX codec', () => {
  it('round-trips nodes, attributes, initializers, symbolic dims and metadata', () => {
    const g = new Graph('rt');
    const x = g.input('x', 'float32', ['batch', 3]);
    const w = g.param('w', Tensor.fromNumbers('float32', [3, 2], [1, 2, 3, 4, 5, 6]));
    const y = g.op1('Gemm', [x, w], { alpha: f(0.5), transB: 0 });
    g.output(g.op1('Softmax', [y], { axis: -1 }));
    g.metadata.set('minnow.task', 'classify');
    const back = decodeModel(encodeModel(g)).graph;
    expect(back.inputs).toEqual(['x']);
    expect(back.shape('x')).toEqual(['batch', 3]);
    expect(back.initializers.get('w')!.toNumbers()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(back.nodes.map((n) => n.opType)).toEqual(['Gemm', 'Softmax']);
    expect((back.nodes[0]!.attrs.alpha as { value: number }).value).toBeCloseTo(0.5);
    expect(back.metadata.get('minnow.task')).toBe('classify');
    expect(back.shape(back.outputs[0]!)).toEqual(['batch', 2]);
  });

  it('rejects bytes that are not a model', () => {
    expect(() => decodeModel(new Uint8Array([1, 2, 3, 4, 5]))).toThrow(/not a valid ONNX model/);
  });

  it('runs in onnxruntime with the shapes inference promised', async () => {
    const g = new Graph();
    const x = g.input('x', 'float32', ['batch', 4]);
    const r = g.op1('Reshape', [x, g.int64s([0, 2, 2])]);
    const t = g.op1('Transpose', [r], { perm: [0, 2, 1] });
    g.output(t);
    expect(g.shape(t)).toEqual(['batch', 2, 2]);
    const session = await createSession(encodeModel(g));
    const out = await run(session, { x: Tensor.fromNumbers('float32', [1, 4], [1, 2, 3, 4]) });
    expect(out[t]!.toNumbers()).toEqual([1, 3, 2, 4]);
    expect(out[t]!.dims).toEqual([1, 2, 2]);
  });
});

describe('graph checker', () => {
  const node = (name: string, inputs: string[], outputs: string[]): Node => ({ name, opType: 'Relu', domain: '', inputs, outputs, attrs: {} });
  it('names the node with a dangling input', () => {
    expect(() => checkGraph([node('a', ['x'], ['y']), node('b', ['ghost'], ['z'])], ['x'], ['z'])).toThrow(/node 'b' \(Relu\) reads 'ghost'/);
  });
  it('names the nodes of a cycle', () => {
    expect(() => checkGraph([node('a', ['z'], ['y']), node('b', ['y'], ['z'])], [], ['z'])).toThrow(GraphCheckError);
    expect(() => checkGraph([node('a', ['z'], ['y']), node('b', ['y'], ['z'])], [], ['z'])).toThrow(/cycle through node 'a' \(Relu\) -> 'b' \(Relu\)/);
  });
  it('rejects an output nobody produces', () => {
    expect(() => checkGraph([node('a', ['x'], ['y'])], ['x'], ['w'])).toThrow(/graph output 'w'/);
  });
});

describe('shape inference', () => {
  it('broadcasts static and symbolic dims', () => {
    expect(broadcastShapes([['batch', 1, 4], [3, 1]])).toEqual(['batch', 3, 4]);
    expect(() => broadcastShapes([[2, 3], [4, 3]])).toThrow(/do not broadcast/);
  });
  it('reports a MatMul with mismatched inner dims at build time', () => {
    const g = new Graph();
    const a = g.input('a', 'float32', [2, 3]);
    const b = g.input('b', 'float32', [4, 5]);
    expect(() => g.op1('MatMul', [a, b])).toThrow(/inner dims differ/);
  });
  it('refuses an input that is not in the graph', () => {
    const g = new Graph();
    expect(() => g.op1('Relu', ['nowhere'])).toThrow(/input 'nowhere' is not a value/);
  });
});

describe('devices', () => {
  it('parses known devices and rejects others with the list', () => {
    expect(parseDevice('cpu')).toBe('cpu');
    expect(() => parseDevice('tpu')).toThrow(/unknown device 'tpu': use one of cpu, cuda, webgpu/);
  });
  it('says how to install CUDA when its provider is missing', () => {
    // This machine has no CUDA provider (npm ci does not run onnxruntime-node's download).
    expect(() => checkDevice('cuda')).toThrow(DeviceError);
    expect(() => checkDevice('cuda')).toThrow(/ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules\/onnxruntime-node\/script\/install/);
  });
});

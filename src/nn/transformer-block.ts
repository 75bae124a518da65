// The pre-LN Transformer blocks that the text Transformer, its KV-cache decoder and the ViT share.
import type { Activation } from './layers.js';
import { feedForward, layerNorm } from './layers.js';
import { attention, type KeyValues } from './attention.js';
import { Scope, normal } from './scope.js';
import type { Node } from '../onnx/graph.js';

export interface BlockConfig { layers: number; heads: number; headDim?: number; ff: number; activation?: Activation; dropout?: number }

export interface BlockInputs {
  paddingBias?: string;
  causalMask?: string;
  /** Each layer's cached keys and values: the blocks attend to them and hand the extended ones back. */
  past?: KeyValues[];
}

/** `layers` blocks over x, then the final LayerNorm; with `past`, each layer's presents too. */
export function transformerBlocks(s: Scope, x: string, arch: BlockConfig, inputs: BlockInputs): { hidden: string; presents: KeyValues[] } {
  // GPT-2 scales the residual projections by 1/sqrt(2 * layers) so the residual stream's variance
  // does not grow with depth.
  const outInit = normal(0.02 / Math.sqrt(2 * arch.layers));
  const presents: KeyValues[] = [];
  for (let i = 0; i < arch.layers; i++) {
    const b = s.sub(`layers.${i}`);
    const a = attention(b.sub('attn'), layerNorm(b.sub('ln1'), x), {
      heads: arch.heads, headDim: arch.headDim, paddingBias: inputs.paddingBias, causalMask: inputs.causalMask,
      past: inputs.past?.[i], dropout: arch.dropout, seed: 1000 * i, outInit,
    });
    if (a.present) presents.push(a.present);
    x = s.g.op1('Add', [x, a.output], {}, { name: `layers.${i}.res1` });
    const f = feedForward(b.sub('ffn'), layerNorm(b.sub('ln2'), x), arch.ff, {
      activation: arch.activation, dropout: arch.dropout, seed: 1000 * i + 10, outInit,
    });
    x = s.g.op1('Add', [x, f], {}, { name: `layers.${i}.res2` });
  }
  return { hidden: layerNorm(s.sub('ln_f'), x), presents };
}

/**
 * Each block's forward nodes among `nodes`, for recomputation in the backward pass: from the first
 * node that reads one of the block's weights together with a computed value (not a fake-quantized
 * weight, made from weights alone) to the block's residual output.
 */
export function blockSegments(nodes: Node[]): Node[][] {
  const produced = new Set(nodes.filter((n) => n.opType !== 'Constant').flatMap((n) => n.outputs));
  const segments: Node[][] = [];
  for (let i = 0, start = -1; ; i++) {
    const end = nodes.findIndex((n) => n.outputs.includes(`layers.${i}.res2`));
    const weight = new RegExp(`^(fake_quant\\.)?layers\\.${i}\\.`);
    if (start < 0) start = nodes.findIndex((n) => n.inputs.some((x) => weight.test(x)) && n.inputs.some((x) => produced.has(x) && !x.startsWith('fake_quant.')));
    if (end < 0 || start < 0 || start > end) return segments;
    segments.push(nodes.slice(start, end + 1));
    start = end + 1;
  }
}

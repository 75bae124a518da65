export { Scope, normal, uniform, kaiming, zeros, ones, type Init } from './scope.js';
export { linear, embedding, positionalEmbedding, tokenPositions, layerNorm, dropout, feedForward, activate, causalMask, type Activation } from './layers.js';
export { multiHeadAttention, attention, paddingBias, type AttentionOptions, type KeyValues } from './attention.js';
export { transformerBlocks } from './transformer-block.js';
export { modelKind, KIND_NAMES, type ModelKind } from './kinds/index.js';
export { buildModel, type ArchConfig, type TransformerConfig, type VitConfig, type MlpConfig, type CnnConfig, type BuiltModel, type ModelShape } from './models.js';
export { parseModelSpec, checkArchForTask, PRESETS, DEFAULT_MODEL, SpecError } from './spec.js';

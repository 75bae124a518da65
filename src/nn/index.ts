export { Scope, normal, uniform, kaiming, zeros, ones, type Init } from './scope.js';
export { linear, embedding, positionalEmbedding, layerNorm, dropout, feedForward, activate, causalMask, type Activation } from './layers.js';
export { multiHeadAttention, paddingBias, type AttentionOptions } from './attention.js';
export { buildModel, type ArchConfig, type TransformerConfig, type MlpConfig, type CnnConfig, type BuiltModel, type ModelShape, type Task } from './models.js';
export { parseModelSpec, checkArchForTask, PRESETS, DEFAULT_MODEL, SpecError } from './spec.js';

// minnow/micro: minnow/runtime's loadModel and Model, executed by TypeScript kernels on typed
// arrays, for the JavaScript engines that have no WebAssembly and no native modules (Hermes in
// React Native, QuickJS, small boards). It runs the graphs minnow exports and compresses; any other
// op is refused at load, by name.
// First: the model reader makes a TextDecoder as it loads, and engines without one get micro's.
import './text-codecs.js';
import { openModel, type LoadOptions, type ModelSource, type OrtLike } from '../load.js';
import { Model } from '../model.js';
import { MicroSession } from './session.js';
import { MicroTensor } from './tensor.js';

/** micro in the shape of an onnxruntime module, for minnow/runtime (or an app) to drive. */
export const microOrt: OrtLike = {
  InferenceSession: { create: (model: Uint8Array) => MicroSession.create(model) },
  Tensor: MicroTensor as unknown as OrtLike['Tensor'],
};

export type MicroLoadOptions = Omit<LoadOptions, 'ort' | 'executionProviders' | 'threads'>;

/** Loads a model to run in TypeScript: the same Model (classify, generate, run, info) as minnow/runtime's. */
export function loadModel(source: ModelSource, options: MicroLoadOptions = {}): Promise<Model> {
  return openModel(source, { ...options, ort: microOrt }, Model);
}

export { Model, RuntimeInputError, type Prediction, type ModelInfo } from '../model.js';
export { ModelLoadError, type ModelSource } from '../load.js';
export { MicroError, MicroSession } from './session.js';
export { MicroTensor } from './tensor.js';

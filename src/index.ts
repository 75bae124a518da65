// minnow's library API: everything the CLI does is a call here.
//   import { nn, train, data } from 'minnow'
export * as format from './format/index.js';
export * as onnx from './onnx/index.js';
export * as autodiff from './autodiff/index.js';
export * as nn from './nn/index.js';
export * as train from './train/index.js';
export * as data from './data/index.js';
export * as compress from './compress/index.js';
export * as protocol from './protocol/index.js';

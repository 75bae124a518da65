export * from './messages.js';
export { encodeFrame, decodeFrame } from './codec.js';
export { toHalf, fromHalf, toHalfArray, fromHalfArray } from './fp16.js';

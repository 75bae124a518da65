export * from './messages.js';
export { encodeFrame, decodeFrame } from './codec.js';

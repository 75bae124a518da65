// Frames are msgpack with typed-array extensions, so tensors cross the wire as raw bytes.
import { Packr } from 'msgpackr';

const packr = new Packr({ useRecords: false, moreTypes: true, mapsAsObjects: true });

export function encodeFrame(message: unknown): Buffer {
  return packr.pack(message);
}

export function decodeFrame(frame: Uint8Array): unknown {
  return packr.unpack(frame);
}

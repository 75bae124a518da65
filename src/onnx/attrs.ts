// Node attribute values. Plain numbers are written as INT attributes; float ones are wrapped.
import type { Tensor } from './tensor.js';

/** A float attribute (plain numbers are written as INT attributes). */
export class FloatAttr { constructor(readonly value: number) {} }
export class FloatsAttr { constructor(readonly value: number[]) {} }
export const f = (value: number) => new FloatAttr(value);
export const floats = (value: number[]) => new FloatsAttr(value);

export type AttrValue = number | number[] | string | string[] | FloatAttr | FloatsAttr | Tensor;

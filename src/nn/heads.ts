// The classifier head every classifier ends with: logits from pooled features, both graph outputs
// (the features are what the runtime's model.embed() returns).
import { OUTPUT } from '../format/names.js';
import { linear } from './layers.js';
import type { Init, Scope } from './scope.js';

/** Marks `logits` and `embeddings` as outputs and returns the logits' name. */
export function classifierHead(s: Scope, features: string, classes: number, init: Init): string {
  const { g } = s;
  const logits = g.output(g.alias(linear(s.sub('head'), features, classes, { init }), OUTPUT.logits));
  g.output(g.alias(features, OUTPUT.embeddings));
  return logits;
}

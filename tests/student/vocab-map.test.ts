// --vocab-prune's map between a student's pruned vocabulary and its teacher's: requests in the
// teacher's ids, soft labels back in the student's, renormalised over the tokens the student has.
import { describe, expect, it } from 'vitest';
import { VocabMap } from '../../student/vocab-map.js';
import { trainChars, type TokenizerJson } from '../../src/data/tokenizers/index.js';
import { pruneTokenizer, vocabOf } from '../../src/data/tokenizers/prune.js';
import { Tensor } from '../../src/onnx/tensor.js';
import { EMPTY_SLOT, TEACHER_INPUTS } from '../../src/train/distill-loss.js';

const teacher = trainChars('abcdefgh');
const ids = vocabOf(teacher);
const id = (c: string) => ids.get(c)!;
// The student keeps a, c and e (and the specials).
const student = pruneTokenizer(teacher, [id('a'), id('c'), id('e')]).json;
const map = VocabMap.between(teacher, student)!;
const sid = (c: string) => vocabOf(student).get(c)!;

describe('VocabMap', () => {
  it('is undefined where both number tokens alike', () => {
    expect(VocabMap.between(teacher, teacher)).toBeUndefined();
    expect(map.toTeacher.length).toBe(vocabOf(student).size);
  });

  it('sends a student\'s ids in the teacher\'s', () => {
    const row = { input_ids: Tensor.fromNumbers('int64', [1, 3], [sid('e'), sid('a'), sid('c')]), attention_mask: Tensor.fromNumbers('int64', [1, 3], [1, 1, 1]) };
    expect(map.teacherRow(row).input_ids!.toNumbers()).toEqual([id('e'), id('a'), id('c')]);
    expect(map.teacherRow(row).attention_mask).toBe(row.attention_mask);
  });

  it('top-k: drops the tokens the student lacks, renormalises the rest with the tail, empties the slots last', () => {
    const [pa, pb, pc, pd, tail] = [0.4, 0.3, 0.1, 0.05, 0.15];
    const out = map.studentFeeds({
      [TEACHER_INPUTS.logProbs]: new Tensor('float32', [1, 4], Float32Array.from([pa, pb, pc, pd].map(Math.log))),
      [TEACHER_INPUTS.indices]: Tensor.fromNumbers('int64', [1, 4], [id('a'), id('b'), id('c'), id('d')]),
      [TEACHER_INPUTS.tailMass]: new Tensor('float32', [1], Float32Array.of(tail)),
    });
    const mass = pa + pc + tail;
    const lp = out[TEACHER_INPUTS.logProbs]!.toNumbers();
    expect(lp[0]).toBeCloseTo(Math.log(pa / mass), 6);
    expect(lp[1]).toBeCloseTo(Math.log(pc / mass), 6);
    expect(lp.slice(2)).toEqual([EMPTY_SLOT, EMPTY_SLOT]);
    expect(out[TEACHER_INPUTS.indices]!.toNumbers().slice(0, 2)).toEqual([sid('a'), sid('c')]);
    expect(out[TEACHER_INPUTS.tailMass]!.toNumbers()[0]).toBeCloseTo(tail / mass, 6);
  });

  it('top-k with none of the student\'s tokens: every slot empty and a whole tail (no signal)', () => {
    const out = map.studentFeeds({
      [TEACHER_INPUTS.logProbs]: new Tensor('float32', [1, 2], Float32Array.from([0.5, 0.5].map(Math.log))),
      [TEACHER_INPUTS.indices]: Tensor.fromNumbers('int64', [1, 2], [id('b'), id('d')]),
      [TEACHER_INPUTS.tailMass]: new Tensor('float32', [1], Float32Array.of(0)),
    });
    expect(out[TEACHER_INPUTS.logProbs]!.toNumbers()).toEqual([EMPTY_SLOT, EMPTY_SLOT]);
    expect(out[TEACHER_INPUTS.tailMass]!.toNumbers()).toEqual([1]);
  });

  it('full distributions keep the student\'s columns, renormalised', () => {
    const V = map.toStudent.length;
    const p = Array.from({ length: V }, (_, j) => j + 1);
    const total = p.reduce((a, b) => a + b, 0);
    const out = map.studentFeeds({ [TEACHER_INPUTS.logProbs]: new Tensor('float32', [1, V], Float32Array.from(p, (v) => Math.log(v / total))) });
    const kept = [...map.toTeacher].map((old) => p[old]!);
    const keptTotal = kept.reduce((a, b) => a + b, 0);
    expect(out[TEACHER_INPUTS.logProbs]!.dims).toEqual([1, map.toTeacher.length]);
    out[TEACHER_INPUTS.logProbs]!.toNumbers().forEach((v, j) => expect(v).toBeCloseTo(Math.log(kept[j]! / keptTotal), 5));
  });

  it('refuses a student whose tokens the teacher does not have', () => {
    const other: TokenizerJson = trainChars('xyz');
    expect(() => VocabMap.between(teacher, other)).toThrow(/student's token "[xyz]" is not in the teacher's vocabulary/);
  });
});

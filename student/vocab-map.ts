// A student that reads text with a pruned copy of its teacher's vocabulary (--vocab-prune) numbers
// tokens differently from its teacher: its inputs go to the teacher in the teacher's ids, and the
// soft labels come back in the student's, without the tokens the student does not have. The map is
// found from the two tokenizer.json files, by token, so a resumed or offline run finds it again.
import { Tensor } from '../src/onnx/tensor.js';
import { INPUT } from '../src/format/names.js';
import { TEACHER_INPUTS, EMPTY_SLOT } from '../src/train/distill-loss.js';
import { vocabOf } from '../src/data/tokenizers/prune.js';
import type { TokenizerJson } from '../src/data/tokenizers/index.js';
import type { Row } from './rows.js';

type Feeds = Record<string, Tensor>;

/** The largest of many ids (spread into Math.max, 150,000 of them overflow the stack). */
function largest(ids: Iterable<number>): number {
  let max = -1;
  for (const id of ids) if (id > max) max = id;
  return max;
}

export class VocabMap {
  private constructor(
    /** The teacher's id of each student id. */
    readonly toTeacher: Int32Array,
    /** The student's id of each teacher id, -1 where the student does not have the token. */
    readonly toStudent: Int32Array,
  ) {}

  /** The map from a student's tokenizer to its teacher's; undefined where both number tokens alike. */
  static between(teacher: TokenizerJson, student: TokenizerJson): VocabMap | undefined {
    const teacherIds = vocabOf(teacher);
    const studentIds = vocabOf(student);
    const toTeacher = new Int32Array(largest(studentIds.values()) + 1).fill(-1);
    for (const [token, id] of studentIds) {
      const old = teacherIds.get(token);
      if (old === undefined) throw new Error(`the student's token ${JSON.stringify(token)} is not in the teacher's vocabulary; distill from the teacher the student's tokenizer came from`);
      toTeacher[id] = old;
    }
    if (toTeacher.length === teacherIds.size && toTeacher.every((old, id) => old === id)) return undefined;
    const toStudent = new Int32Array(largest(teacherIds.values()) + 1).fill(-1);
    toTeacher.forEach((old, id) => { if (old >= 0) toStudent[old] = id; });
    return new VocabMap(toTeacher, toStudent);
  }

  /** A student's example as the teacher reads it. */
  teacherRow(row: Row): Row {
    const ids = row[INPUT.ids];
    if (!ids) return row;
    const data = BigInt64Array.from(ids.data as BigInt64Array, (id) => BigInt(this.toTeacher[Number(id)]!));
    return { ...row, [INPUT.ids]: new Tensor('int64', ids.dims, data) };
  }

  /**
   * The teacher's soft labels over the student's tokens: the distribution given that the token is
   * one the student has. Top-k (and sampled) slots of missing tokens are emptied (EMPTY_SLOT, moved
   * last) and the rest renormalised with the tail; a full distribution keeps the student's columns.
   */
  studentFeeds(feeds: Feeds): Feeds {
    return feeds[TEACHER_INPUTS.indices] ? this.topK(feeds) : this.full(feeds);
  }

  private topK(feeds: Feeds): Feeds {
    const lp = feeds[TEACHER_INPUTS.logProbs]!, idx = feeds[TEACHER_INPUTS.indices]!, tail = feeds[TEACHER_INPUTS.tailMass]!;
    const k = lp.dims.at(-1)!;
    const values = new Float32Array(lp.size).fill(EMPTY_SLOT), indices = new BigInt64Array(lp.size), tails = new Float32Array(tail.size);
    const oldValues = lp.data as Float32Array, oldIndices = idx.data as BigInt64Array, oldTails = tail.data as Float32Array;
    for (let r = 0; r < tail.size; r++) {
      let live = 0, mass = oldTails[r]!;
      for (let s = r * k; s < (r + 1) * k; s++) {
        const id = this.toStudent[Number(oldIndices[s])] ?? -1;
        if (id < 0) continue;
        values[r * k + live] = oldValues[s]!;
        indices[r * k + live++] = BigInt(id);
        mass += Math.exp(oldValues[s]!);
      }
      // None of the teacher's mass is on the student's tokens: no slots and a whole tail say nothing.
      if (mass === 0) { tails[r] = 1; continue; }
      const shift = Math.log(mass);
      for (let s = r * k; s < r * k + live; s++) values[s] = values[s]! - shift;
      tails[r] = oldTails[r]! / mass;
    }
    return {
      [TEACHER_INPUTS.logProbs]: new Tensor('float32', lp.dims, values),
      [TEACHER_INPUTS.indices]: new Tensor('int64', idx.dims, indices),
      [TEACHER_INPUTS.tailMass]: new Tensor('float32', tail.dims, tails),
    };
  }

  private full(feeds: Feeds): Feeds {
    const lp = feeds[TEACHER_INPUTS.logProbs]!;
    const width = lp.dims.at(-1)!, rows = lp.size / width, kept = this.toTeacher.length;
    const old = lp.data as Float32Array, values = new Float32Array(rows * kept);
    for (let r = 0; r < rows; r++) {
      let mass = 0;
      for (let j = 0; j < kept; j++) mass += Math.exp(values[r * kept + j] = old[r * width + this.toTeacher[j]!]!);
      const shift = Math.log(mass);
      for (let j = 0; j < kept; j++) values[r * kept + j] = values[r * kept + j]! - shift;
    }
    return { [TEACHER_INPUTS.logProbs]: new Tensor('float32', [...lp.dims.slice(0, -1), kept], values) };
  }
}

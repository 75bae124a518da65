// UTF-8 TextEncoder and TextDecoder for engines that have none (QuickJS, the Hermes of older React Native releases):
// the model reader and Hugging Face's tokenizers need them. Installed only where they are missing,
// so that an engine's own (faster, complete) ones are always used where they exist.

class Utf8Encoder {
  readonly encoding = 'utf-8';
  encode(text = ''): Uint8Array {
    const out: number[] = [];
    for (const ch of text) {
      let c = ch.codePointAt(0)!;
      if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd; // a lone surrogate, as TextEncoder writes it
      if (c < 0x80) out.push(c);
      else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
      else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
      else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    }
    return Uint8Array.from(out);
  }
}

/** The bytes a lead byte needs after it, and the range its first continuation byte must lie in (WHATWG). */
function sequence(lead: number): [number, number, number] | undefined {
  if (lead >= 0xc2 && lead <= 0xdf) return [1, 0x80, 0xbf];
  if (lead === 0xe0) return [2, 0xa0, 0xbf];
  if (lead === 0xed) return [2, 0x80, 0x9f];
  if (lead >= 0xe1 && lead <= 0xef) return [2, 0x80, 0xbf];
  if (lead === 0xf0) return [3, 0x90, 0xbf];
  if (lead === 0xf4) return [3, 0x80, 0x8f];
  if (lead >= 0xf1 && lead <= 0xf3) return [3, 0x80, 0xbf];
  return undefined;
}

class Utf8Decoder {
  readonly encoding = 'utf-8';
  private readonly fatal: boolean;
  constructor(_label = 'utf-8', options: { fatal?: boolean } = {}) { this.fatal = Boolean(options.fatal); }

  /** WHATWG's decoder: one U+FFFD for each maximal invalid subsequence, a leading BOM dropped. */
  decode(input?: ArrayBufferView | ArrayBuffer): string {
    if (!input) return '';
    const b = input instanceof ArrayBuffer ? new Uint8Array(input) : new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    let out = '';
    let i = b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0;
    while (i < b.length) {
      const lead = b[i]!;
      if (lead < 0x80) { out += String.fromCharCode(lead); i++; continue; }
      const seq = sequence(lead);
      let code = seq ? lead & (0x3f >> seq[0]) : 0, used = 1;
      for (let k = 1; seq && k <= seq[0]; k++) {
        const d = b[i + k];
        const [lo, hi] = k === 1 ? [seq[1], seq[2]] : [0x80, 0xbf];
        if (d === undefined || d < lo || d > hi) break;
        code = (code << 6) | (d & 63);
        used++;
      }
      if (!seq || used !== seq[0] + 1) {
        if (this.fatal) throw new TypeError('The encoded data was not valid UTF-8');
        out += '\uFFFD';
        i += used;
        continue;
      }
      out += String.fromCodePoint(code);
      i += used;
    }
    return out;
  }
}

const g = globalThis as { TextEncoder?: unknown; TextDecoder?: unknown };
g.TextEncoder ??= Utf8Encoder;
g.TextDecoder ??= Utf8Decoder;

export { Utf8Encoder, Utf8Decoder };

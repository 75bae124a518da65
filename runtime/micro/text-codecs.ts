// UTF-8 TextEncoder and TextDecoder for engines that have none (QuickJS; Hermes before 0.74):
// the model reader and Hugging Face's tokenizers need them. Installed only where they are missing,
// so that an engine's own (faster, complete) ones are always used where they exist.

class Utf8Encoder {
  readonly encoding = 'utf-8';
  encode(text = ''): Uint8Array {
    const out: number[] = [];
    for (const ch of text) {
      const c = ch.codePointAt(0)!;
      if (c < 0x80) out.push(c);
      else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
      else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
      else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    }
    return Uint8Array.from(out);
  }
}

class Utf8Decoder {
  readonly encoding = 'utf-8';
  private readonly fatal: boolean;
  constructor(_label = 'utf-8', options: { fatal?: boolean } = {}) { this.fatal = Boolean(options.fatal); }

  decode(input?: ArrayBufferView | ArrayBuffer): string {
    if (!input) return '';
    const b = input instanceof ArrayBuffer ? new Uint8Array(input) : new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    let out = '';
    for (let i = 0; i < b.length;) {
      const c = b[i]!;
      const n = c < 0x80 ? 0 : c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : -1;
      let code = n === 0 ? c : c & (0x3f >> n);
      let ok = n >= 0 && i + n < b.length;
      for (let k = 1; ok && k <= n; k++) { const d = b[i + k]!; ok = (d & 0xc0) === 0x80; code = (code << 6) | (d & 63); }
      if (!ok) {
        if (this.fatal) throw new TypeError('The encoded data was not valid UTF-8');
        out += '\uFFFD';
        i++;
        continue;
      }
      out += String.fromCodePoint(code);
      i += n + 1;
    }
    return out;
  }
}

const g = globalThis as { TextEncoder?: unknown; TextDecoder?: unknown };
g.TextEncoder ??= Utf8Encoder;
g.TextDecoder ??= Utf8Decoder;

export { Utf8Encoder, Utf8Decoder };

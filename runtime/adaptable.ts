// minnow/runtime's Model: the shared Model (model.ts, which minnow/micro runs too) plus learning on
// the device: finetune() on the user's own examples, export(), reset(), and the adapted weights kept
// and re-applied. The code behind them is loaded on the first call (finetune.ts, adaptation.ts,
// model-write.ts); micro has none of it, as its kernels have no gradient ops.
import { isFinetuneFeature } from '../src/format/finetune.js';
import { openModel, type LoadOptions, type ModelSource, type OrtLike, type OrtSession, type OrtTensor } from './load.js';
import type { ModelFile } from './model-file.js';
import { Model } from './model.js';
import type { FinetuneExample, FinetuneOptions, FinetuneReport } from './finetune.js';

export class AdaptableModel extends Model {
  /** @internal The file as loaded (finetune() adapts it; reset() returns to it). */
  readonly shipped: { bytes: Uint8Array; file: ModelFile };
  /** @internal The file the session runs now: the shipped one, or an adapted one. */
  current: { bytes: Uint8Array; file: ModelFile };
  /** @internal The options the session was made with (an adapted file's session is made alike). */
  readonly sessionOptions: Record<string, unknown>;

  constructor(
    ort: OrtLike, session: OrtSession, file: ModelFile, sha256: string | undefined, truncation: 'error' | 'right',
    bytes: Uint8Array, sessionOptions: Record<string, unknown>,
  ) {
    super(ort, session, file, sha256, truncation);
    this.shipped = { bytes, file };
    this.current = this.shipped;
    this.sessionOptions = sessionOptions;
    this.use(session);
  }

  /** @internal The session as onnxruntime made it (`session` leaves out the training step's features). */
  private raw!: OrtSession;

  /**
   * @internal Runs `session` from now on. A file that carries a training step also outputs the
   * features the step reads; classify() and embed() leave them uncomputed.
   */
  use(session: OrtSession): void {
    this.raw = session;
    const served = session.outputNames.filter((name) => !isFinetuneFeature(name));
    this.session = served.length === session.outputNames.length ? session : {
      inputNames: session.inputNames, outputNames: session.outputNames,
      run: (feeds) => this.outputs(feeds, served), release: () => session.release?.() ?? Promise.resolve(),
    };
  }

  /** @internal Named outputs of the current session for these feeds. */
  async outputs(feeds: Record<string, OrtTensor>, names: readonly string[]): Promise<Record<string, OrtTensor>> {
    this.check();
    // Every onnxruntime takes the output names as run()'s second argument; OrtLike leaves it out so
    // that each runtime's overloads still fit the type.
    const run = this.raw.run.bind(this.raw) as (f: Record<string, OrtTensor>, n: readonly string[]) => Promise<Record<string, OrtTensor>>;
    return run(feeds, names);
  }

  /**
   * Fine-tunes the part of the model its file marks trainable (`--finetunable`) on the user's own
   * examples, on the device, with the app's ONNX Runtime; the model runs the adapted weights from
   * then on. See docs/runtime.md, "Learning on the device".
   */
  async finetune(examples: FinetuneExample[], options: FinetuneOptions = {}): Promise<FinetuneReport> {
    this.check();
    return (await import('./finetune.js')).finetune(this, examples, options);
  }

  /** The model file as it runs now: after finetune(), the adapted weights, their digest and provenance. */
  export(): Uint8Array {
    this.check();
    return new Uint8Array(this.current.bytes);
  }

  /** Back to the weights the model shipped with. */
  async reset(): Promise<void> {
    this.check();
    if (this.current !== this.shipped) await (await import('./model-write.js')).runFile(this, this.shipped.bytes, this.shipped.file);
  }

  /** Stores the adapted weights: under this key in IndexedDB in a browser, at this path on Node. */
  async saveAdaptation(where: string): Promise<void> {
    this.check();
    return (await import('./adaptation.js')).saveAdaptation(this, where);
  }

  /** Applies adapted weights stored by saveAdaptation(); false when none are stored there. */
  async restoreAdaptation(where: string): Promise<boolean> {
    this.check();
    return (await import('./adaptation.js')).restoreAdaptation(this, where);
  }
}

/** Loads a model to run on the app's ONNX Runtime, and to fine-tune on the device where its file allows. */
export function loadModel(source: ModelSource, options: LoadOptions): Promise<AdaptableModel> {
  return openModel(source, options, AdaptableModel);
}

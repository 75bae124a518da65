// A full garbage collection on demand, for code that lets go of large buffers at a known moment.
// onnxruntime-node 1.30 returns a fresh copy of every output of a run, preallocated or not; V8
// frees those copies only when it next collects, and until then they add to the process's peak
// (bench/RESULTS.md, issue 19). V8 exposes `gc` only under --expose-gc: setting the flag at run
// time makes it visible in contexts made afterwards, the way Jest's leak detector does it.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | undefined;

export function collectGarbage(): void {
  if (!gc) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (exposed) gc = exposed;
    else {
      setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc') as () => void;
    }
  }
  gc();
}

// The JavaScript a React Native app runs to check a mail on the phone with minnow/micro: no
// onnxruntime-react-native, no WebAssembly, no native module. The int4 spam student comes as bytes
// from the app's own bundle ('spam-model'), and the mail from the screen ('mail'). It prints one
// line of JSON: the prediction, and how long the first result took.
//   run it: npx tsx examples/hermes/run.ts <student.onnx>
import { loadModel } from 'minnow/micro';
import modelBytes from 'spam-model';
import mail from 'mail';

/** When the script began, before its modules ran (set by examples/hermes/engines.ts). */
declare const APP_STARTED: number;

async function main(): Promise<void> {
  // From the script's start: decoding the bundled bytes counts too.
  const started = APP_STARTED;
  const model = await loadModel(modelBytes, { truncation: 'right' });
  const loaded = Date.now();
  const [top] = await model.classify(mail);
  const first = Date.now();
  // Later mails: the steady latency, once the weights' derived forms are cached.
  const times: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t = Date.now();
    await model.classify(mail);
    times.push(Date.now() - t);
  }
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({
    label: top!.label, score: top!.score, loadMs: loaded - started, firstResultMs: first - started,
    classifyP50Ms: times[times.length >> 1], sha256: model.info.sha256, memory: model.info.memory,
  }));
}

main().catch((err: Error) => console.log(JSON.stringify({ error: err.message })));

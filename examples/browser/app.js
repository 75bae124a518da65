// The page's script: load the model once, classify the textarea's lines on click, and (where the
// model carries a training step: --finetunable) adapt it to the user's own examples, in the page,
// keeping the adapted weights in IndexedDB for the next visit.
// Served next to ./ort/ (onnxruntime-web's dist), ./runtime.js (minnow/runtime) and ./model.onnx
// (or the file named by ?model=).
import * as ort from './ort/ort.wasm.min.mjs';
import { loadModel } from './runtime.js';

ort.env.wasm.numThreads = 1;
ort.env.wasm.wasmPaths = new URL('./ort/', import.meta.url).href;

const $ = (id) => document.getElementById(id);
const status = $('status');
const button = $('go');
const file = new URLSearchParams(location.search).get('model') ?? 'model.onnx';
const model = await loadModel(new URL(`./${file}`, import.meta.url).href, {
  ort, truncation: 'right',
  onProgress: ({ loaded, total }) => { status.textContent = `loading model… ${Math.round(loaded / 1024)} KB${total ? ` of ${Math.round(total / 1024)}` : ''}`; },
});
const adaptable = Boolean(model.info.metadata['minnow.finetune']);
// The adapted weights of an earlier visit, stored under the model's own digest.
const storeKey = `minnow-adapted-${model.info.sha256}`;
const restored = adaptable && await model.restoreAdaptation(storeKey);
const showStatus = () => {
  const quantize = model.info.metadata['minnow.compression'] ? JSON.parse(model.info.metadata['minnow.compression']).quantize : 'fp32';
  const adapted = JSON.parse(model.info.metadata['minnow.provenance'] ?? '{}').adapted;
  status.textContent = `ready (${quantize}, sha256 ${model.info.sha256?.slice(0, 12)}…${adapted ? ', adapted on this device' : ''})`;
};
showStatus();
button.disabled = false;
$('adapt-section').hidden = !adaptable;
if (restored) $('adapt-status').textContent = 'restored the weights adapted on an earlier visit';
// For scripts that drive the page (the browser test, bench/finetune-browser.ts).
window.minnow = { model, ort, storeKey };

button.addEventListener('click', async () => {
  const texts = $('texts').value.split('\n').filter((t) => t.trim());
  const results = await model.classify(texts);
  $('results').innerHTML = results.map((r, i) =>
    `<div class="row"><span>${texts[i].replace(/</g, '&lt;').slice(0, 70)}</span><span class="${r[0].label}">${r[0].label} ${(100 * r[0].score).toFixed(1)}%</span></div>`).join('');
  const out = $('out');
  out.textContent = JSON.stringify(results);
  out.dataset.done = 'true';
});

// One example a line: the label, a tab (or " | "), the text.
const examplesOf = (text) => text.split('\n').map((line) => line.split(/\t| \| /)).filter((p) => p.length >= 2)
  .map(([label, ...rest]) => ({ label: label.trim(), text: rest.join(' ').trim() }));

$('adapt').addEventListener('click', async () => {
  const line = $('adapt-status');
  try {
    const report = await model.finetune(examplesOf($('examples').value), {
      epochs: 20, lr: 3e-3, keep: $('texts').value.split('\n').filter((t) => t.trim()),
      onProgress: (p) => { line.textContent = `epoch ${p.epoch}/${p.epochs}, step ${p.step}, loss ${p.loss.toFixed(3)}`; },
    });
    await model.saveAdaptation(storeKey);
    const held = report.before ? `; held-out accuracy ${(100 * report.before.accuracy).toFixed(0)}% → ${(100 * report.after.accuracy).toFixed(0)}%` : '';
    line.textContent = `adapted: ${report.steps} steps of ${report.part}${held}`;
  } catch (err) {
    line.textContent = err.message;
  }
  showStatus();
});

$('reset').addEventListener('click', async () => {
  await model.reset();
  indexedDB.open('minnow', 1).onsuccess = (e) => e.target.result.transaction('adaptations', 'readwrite').objectStore('adaptations').delete(storeKey);
  $('adapt-status').textContent = 'back to the shipped weights';
  showStatus();
});

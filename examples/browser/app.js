// The page's script: load the model once, classify the textarea's lines on click.
// Served next to ./ort/ (onnxruntime-web's dist), ./runtime.js (minnow/runtime) and ./model.onnx.
import * as ort from './ort/ort.wasm.min.mjs';
import { loadModel } from './runtime.js';

ort.env.wasm.numThreads = 1;
ort.env.wasm.wasmPaths = new URL('./ort/', import.meta.url).href;

const status = document.getElementById('status');
const button = document.getElementById('go');
const model = await loadModel(new URL('./model.onnx', import.meta.url).href, {
  ort, truncation: 'right',
  onProgress: ({ loaded, total }) => { status.textContent = `loading model… ${Math.round(loaded / 1024)} KB${total ? ` of ${Math.round(total / 1024)}` : ''}`; },
});
status.textContent = `ready (${model.info.metadata['minnow.compression'] ? JSON.parse(model.info.metadata['minnow.compression']).quantize : 'fp32'}, sha256 ${model.info.sha256?.slice(0, 12)}…)`;
button.disabled = false;

button.addEventListener('click', async () => {
  const texts = document.getElementById('texts').value.split('\n').filter((t) => t.trim());
  const results = await model.classify(texts);
  document.getElementById('results').innerHTML = results.map((r, i) =>
    `<div class="row"><span>${texts[i].replace(/</g, '&lt;').slice(0, 70)}</span><span class="${r[0].label}">${r[0].label} ${(100 * r[0].score).toFixed(1)}%</span></div>`).join('');
  const out = document.getElementById('out');
  out.textContent = JSON.stringify(results);
  out.dataset.done = 'true';
});

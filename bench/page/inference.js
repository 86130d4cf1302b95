// Runs in headless Chromium (bench/inference_bench.mjs serves it under the strict CSP):
// log-mel of 30 s and 3 min of real music, one patch through the model with tract (our wasm)
// and with onnxruntime-web (wasm backend, 1 thread, SIMD): ORT runs the ONNX file, tract its NNEF
// export beside it (`simsong model-export`, the form the browser engine loads; same weights, same
// outputs). Result in window.__result.
import init, { logMelSpectrogram, SimilarityEngine } from '/pkg/simsong.js';
import { timeMs, wavSamples, repeatTo, patchFrom } from './common.js';

const params = new URLSearchParams(location.search);
const modelUrl = params.get('model');
const status = document.getElementById('status');
try {
  await init();
  const audio = wavSamples(await (await fetch('/tests/fixtures/audio/real_music_a_16k.wav')).arrayBuffer());
  const result = { logmel_ms: {}, patch_ms: {} };
  for (const seconds of [30, 180]) {
    const y = repeatTo(audio, seconds * 16000);
    result.logmel_ms[seconds] = timeMs(seconds > 60 ? 10 : 20, () => logMelSpectrogram(y));
  }
  const modelBytes = new Uint8Array(await (await fetch(modelUrl)).arrayBuffer());
  const nnefUrl = modelUrl.replace(/\.onnx$/, '.nnef.tar');
  const engine = new SimilarityEngine(new Uint8Array(await (await fetch(nnefUrl)).arrayBuffer()));
  const patch = patchFrom(logMelSpectrogram(repeatTo(audio, 3 * 16000)));
  result.patch_ms.tract = timeMs(30, () => engine.embedPatch(patch));

  const ort = await import('/ort/ort.wasm.min.mjs');
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.simd = true;
  ort.env.wasm.wasmPaths = `${location.origin}/ort/`;
  const session = await ort.InferenceSession.create(modelBytes, { executionProviders: ['wasm'] });
  const feeds = { mel: new ort.Tensor('float32', patch, [1, 1, 96, 187]) };
  const runs = [];
  await session.run(feeds);
  for (let i = 0; i < 30; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    runs.push(performance.now() - t0);
  }
  runs.sort((a, b) => a - b);
  result.patch_ms.ort_web = { median: runs[15], min: runs[0], max: runs[29], runs: 30 };
  result.userAgent = navigator.userAgent;
  window.__result = result;
  status.textContent = 'done';
} catch (e) {
  window.__result = { error: String(e && e.stack || e) };
  status.textContent = `failed: ${e}`;
}

// Runs in headless Chromium (bench/inference_bench.mjs serves it under the strict CSP):
// log-mel of 30 s and 3 min of real music, one patch through the model with tract (our wasm)
// and with onnxruntime-web (wasm backend, 1 thread, SIMD): ORT runs the ONNX file, tract its NNEF
// export beside it (`simsong model-export`, the form the browser engine loads; same weights, same
// outputs). Result in window.__result.
import init, { logMelSpectrogram } from '/pkg/simsong.js';
import { interleaved, timeMs, wavSamples, repeatTo, patchFrom } from './common.js';

const params = new URLSearchParams(location.search);
const modelUrl = params.get('model');
const status = document.getElementById('status');
try {
  await init();
  const relaxedProbe = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 15, 1, 13, 0, 65, 1, 253, 15, 65, 2, 253, 15, 253, 128, 2, 11]);
  const audio = wavSamples(await (await fetch('/tests/fixtures/audio/real_music_a_16k.wav')).arrayBuffer());
  const result = { logmel_ms: {}, patch_ms: {}, relaxed_simd_supported: WebAssembly.validate(relaxedProbe) };
  for (const seconds of [30, 180]) {
    const y = repeatTo(audio, seconds * 16000);
    result.logmel_ms[seconds] = timeMs(seconds > 60 ? 10 : 20, () => logMelSpectrogram(y));
  }
  const modelBytes = new Uint8Array(await (await fetch(modelUrl)).arrayBuffer());
  const nnefBytes = new Uint8Array(await (await fetch(modelUrl.replace(/\.onnx$/, '.nnef.tar'))).arrayBuffer());
  const patch = patchFrom(logMelSpectrogram(repeatTo(audio, 3 * 16000)));
  // Both builds the page can load (scripts/build-wasm.sh), each in its own instance of the glue.
  const mp3 = params.get('mp3') && new Uint8Array(await (await fetch(params.get('mp3'))).arrayBuffer());
  result.analyze_mp3_ms = {};
  const runners = {};
  const engines = [];
  for (const [build, file] of [
    ['simd128', 'simsong_bg.wasm'],
    ['relaxed_simd', 'simsong_relaxed_bg.wasm'],
  ]) {
    if (build === 'relaxed_simd' && !result.relaxed_simd_supported) continue;
    const glue = await import(`/pkg/simsong.js?build=${build}`);
    await glue.default({ module_or_path: `/pkg/${file}` });
    const engine = new glue.SimilarityEngine(nnefBytes);
    engines.push([build, engine]);
    runners[`tract_${build}`] = async () => engine.embedPatch(patch);
  }
  const ort = await import('/ort/ort.wasm.min.mjs');
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.simd = true;
  ort.env.wasm.wasmPaths = `${location.origin}/ort/`;
  const session = await ort.InferenceSession.create(modelBytes, { executionProviders: ['wasm'] });
  const feeds = { mel: new ort.Tensor('float32', patch, [1, 1, 96, 187]) };
  runners.ort_web = () => session.run(feeds);
  Object.assign(result.patch_ms, await interleaved(runners));
  result.patch_ms.tract = result.patch_ms.tract_relaxed_simd ?? result.patch_ms.tract_simd128;
  // A whole file: decode, resample, log-mel, every patch through the model.
  for (const [build, engine] of engines) {
    if (mp3) result.analyze_mp3_ms[build] = timeMs(11, () => engine.analyzeFile(mp3, 'clip.mp3').free());
    engine.free();
  }
  result.userAgent = navigator.userAgent;
  window.__result = result;
  status.textContent = 'done';
} catch (e) {
  window.__result = { error: String(e?.stack || e) };
  status.textContent = `failed: ${e}`;
}

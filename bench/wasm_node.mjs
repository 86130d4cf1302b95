// The wasm build in Node: log-mel of the 16 kHz clip, the tempo of the long clip (mel included),
// the whole analysis of the same length of 44.1 kHz stereo PCM, and one patch through each model. Same timing rule as benches/pipeline.rs.
// Usage: node bench/wasm_node.mjs CLIP16K.wav LONG_CLIP16K.wav CLIP44K.wav MODEL.onnx...   → JSON on stdout
// (the wasm engine loads each model's NNEF export, MODEL.nnef.tar, made by `simsong model-export`)
import { readFileSync } from 'node:fs';
import { initSync, logMelSpectrogram, SimilarityEngine, tempoOfSamples } from '../pkg/simsong.js';
import { timeMs } from './page/common.js';

initSync({ module: readFileSync(new URL('../pkg/simsong_bg.wasm', import.meta.url)) });
const [clip16, long16, clip44, ...models] = process.argv.slice(2);

function pcm16(path) {
  // 16-bit PCM WAV written by bench/make_clips.py (44-byte header).
  const b = readFileSync(path);
  const channels = b.readUInt16LE(22);
  const rate = b.readUInt32LE(24);
  const n = (b.length - 44) / 2;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = b.readInt16LE(44 + 2 * i) / 32768;
  return { samples: out, rate, channels };
}

const y16 = pcm16(clip16);
const y44 = pcm16(clip44);
const long = pcm16(long16);
const report = {
  clip_seconds: y16.samples.length / 16000,
  logmel_ms: timeMs(30, () => logMelSpectrogram(y16.samples)),
  long_clip_seconds: long.samples.length / 16000,
  logmel_long_ms: timeMs(10, () => logMelSpectrogram(long.samples)),
  tempo_of_samples_long_ms: timeMs(10, () => tempoOfSamples(long.samples)),
  patch_ms: {},
  analyze_ms: {},
};
for (const path of models) {
  const engine = new SimilarityEngine(readFileSync(path.replace(/\.onnx$/, '.nnef.tar')));
  const patch = new Float32Array(96 * 187);
  const mel = logMelSpectrogram(y16.samples.subarray(0, 187 * 256)); // frame-major
  for (let t = 0; t < 187; t++) for (let m = 0; m < 96; m++) patch[m * 187 + t] = mel[t * 96 + m];
  report.patch_ms[engine.info.model.name] = timeMs(50, () => engine.embedPatch(patch));
  report.analyze_ms[engine.info.model.name] = timeMs(5, () => engine.analyzePcm(y44.samples, y44.rate, y44.channels).free());
  engine.free();
}
console.log(JSON.stringify(report, null, 2));

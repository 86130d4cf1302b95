// Side by side in one run, same ONNX file, one thread each: one 3 s patch through the model with
// this project's tract build (wasm) and onnxruntime — in Node (tract wasm, onnxruntime-web wasm,
// onnxruntime-node native CPU) and in headless Chromium (tract wasm, onnxruntime-web wasm); plus
// the log-mel of 30 s and 3 min clips in Chromium. onnxruntime comes from bench/ort (installed by
// scripts/bench.sh; the tests do not need it).
// Usage: node bench/inference_bench.mjs MODEL.onnx   → JSON on stdout
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { initSync, logMelSpectrogram, SimilarityEngine } from '../pkg/simsong.js';
import { setUp, newPage, ROOT } from '../tests/e2e/harness.mjs';
import { interleaved, wavSamples, repeatTo, patchFrom } from './page/common.js';

const modelPath = process.argv[2];
const modelBytes = readFileSync(modelPath);
const require = createRequire(join(ROOT, 'bench/ort/package.json'));

initSync({ module: readFileSync(join(ROOT, 'pkg/simsong_bg.wasm')) });
const fixture = readFileSync(join(ROOT, 'tests/fixtures/audio/real_music_a_16k.wav'));
const audio = wavSamples(fixture.buffer.slice(fixture.byteOffset, fixture.byteOffset + fixture.length));
const patch = patchFrom(logMelSpectrogram(repeatTo(audio, 3 * 16000)));

// tract (wasm) loads the NNEF export beside the ONNX file, as the browser engine does.
const engine = new SimilarityEngine(readFileSync(modelPath.replace(/\.onnx$/, '.nnef.tar')));
const ortWeb = require('onnxruntime-web');
ortWeb.env.wasm.numThreads = 1;
const webSession = await ortWeb.InferenceSession.create(modelBytes, { executionProviders: ['wasm'] });
const webFeeds = { mel: new ortWeb.Tensor('float32', patch, [1, 1, 96, 187]) };
const ortNode = require('onnxruntime-node');
const nodeSession = await ortNode.InferenceSession.create(modelBytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
const nodeFeeds = { mel: new ortNode.Tensor('float32', patch, [1, 1, 96, 187]) };
// As in the Chromium page (bench/page/inference.js): every engine warmed up alike, then timed
// in interleaved rounds.
const node = await interleaved({
  tract_wasm: async () => engine.embedPatch(patch),
  ort_web_wasm: () => webSession.run(webFeeds),
  ort_node_native: () => nodeSession.run(nodeFeeds),
});

// Same embedding from both engines (the comparison is only fair if they compute the same thing).
const ours = engine.embedPatch(patch);
const theirs = (await nodeSession.run(nodeFeeds)).embedding.data;
const norm = Math.hypot(...theirs);
const maxDiff = Math.max(...Array.from(ours, (v, i) => Math.abs(v - theirs[i] / norm)));

const env = await setUp({
  catalog: false,
  mounts: { 'ort/': join(ROOT, 'bench/ort/node_modules/onnxruntime-web/dist'), 'bench/page/': join(ROOT, 'bench/page'), 'bench/out/': join(ROOT, 'bench/out') },
});
let chromium;
try {
  const page = await newPage(env);
  const mp3 = process.env.BENCH_MP3 ? `&mp3=/${process.env.BENCH_MP3}` : '';
  await page.goto(`${env.origin}/bench/page/inference.html?model=/${modelPath}${mp3}`);
  await page.waitForFunction(() => window.__result, null, { timeout: 300000 });
  chromium = await page.evaluate(() => window.__result);
  if (chromium.error) throw new Error(chromium.error);
  chromium.problems = page.problems;
  chromium.browser = `Chromium ${env.browser.version()} (headless, Debian)`;
} finally {
  await env.close();
}
console.log(
  JSON.stringify(
    {
      date: new Date().toISOString(),
      model: modelPath,
      ort: JSON.parse(readFileSync(join(ROOT, 'bench/ort/node_modules/onnxruntime-web/package.json'), 'utf8')).version,
      max_abs_diff_tract_vs_ort: maxDiff,
      node,
      chromium,
    },
    null,
    2,
  ),
);

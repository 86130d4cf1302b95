// The index in wasm (Node): load time and top-10 latency for the synthetic catalogs written by
// benches/index.rs (the same files), and for the demo catalog; side by side, a plain JS cosine
// scan over the same number of 128-d f32 vectors (what a store would write without us).
// Usage: node bench/index_wasm.mjs OUT_DIR [DEMO.idx]   → JSON on stdout
import { existsSync, readFileSync } from 'node:fs';
import { initSync, SimilarityIndex } from '../pkg/simsong.js';
import { timeMs } from './page/common.js';

initSync({ module: readFileSync(new URL('../pkg/simsong_bg.wasm', import.meta.url)) });
const [outDir, demo] = process.argv.slice(2);

function measure(path) {
  const bytes = readFileSync(path);
  const n = new SimilarityIndex(bytes).length;
  const loadMs = timeMs(n > 200000 ? 3 : 7, () => new SimilarityIndex(bytes).free());
  const index = new SimilarityIndex(bytes);
  const ids = index.tracks().filter((_, i) => i % Math.max(1, Math.floor(n / 16)) === 0).map((t) => t.id);
  let q = 0;
  const top10 = timeMs(30, () => index.search({ positive: [{ track: ids[q++ % ids.length] }], k: 10 }));
  const filter = { catalog: { mood: ['calm', 'happy'] } };
  const filtered = timeMs(30, () => index.search({ positive: [{ track: ids[q++ % ids.length] }], k: 10, filter }));
  index.free();
  return { tracks: n, file_bytes: bytes.length, load_ms: loadMs, top10_ms: top10, top10_filtered_ms: filtered };
}

/// Plain JS: one Float32Array of n×dim unit vectors, dot products, a sorted top-10 buffer.
function plainJs(n, dim = 128) {
  const data = new Float32Array(n * dim);
  let s = 42;
  for (let i = 0; i < data.length; i++) { s = (s * 1103515245 + 12345) >>> 0; data[i] = s / 2 ** 32 - 0.5; }
  const query = data.slice(0, dim);
  const topIds = new Int32Array(10);
  const topScores = new Float32Array(10);
  const scan = () => {
    topScores.fill(-Infinity);
    for (let i = 0; i < n; i++) {
      let dot = 0;
      const o = i * dim;
      for (let j = 0; j < dim; j++) dot += data[o + j] * query[j];
      if (dot > topScores[9]) {
        let k = 9;
        while (k > 0 && topScores[k - 1] < dot) { topScores[k] = topScores[k - 1]; topIds[k] = topIds[k - 1]; k--; }
        topScores[k] = dot; topIds[k] = i;
      }
    }
    return topIds[0];
  };
  return timeMs(30, scan);
}

const report = { synthetic: {}, plain_js_top10_ms: {} };
for (const n of [10000, 100000, 600000]) {
  for (const p of ['f32', 'int8']) {
    const path = `${outDir}/synth-${n}-${p}.idx`;
    if (existsSync(path)) report.synthetic[`${n}-${p}`] = measure(path);
  }
  report.plain_js_top10_ms[n] = plainJs(n);
}
if (demo && existsSync(demo)) report.demo = measure(demo);
console.log(JSON.stringify(report, null, 2));

// The hour-long MP3 of bench/hour_bench.sh analysed by the wasm build in Node: wall time, the
// engine's wasm memory afterwards (it never shrinks, so this is its peak) and the process's
// peak resident memory (the file itself lives in JS memory).
// Usage: node bench/hour_wasm.mjs ONE_HOUR.mp3 MODEL.onnx   → JSON on stdout (loads MODEL.nnef.tar)
import { readFileSync } from 'node:fs';
import { resourceUsage } from 'node:process';
import { initSync, SimilarityEngine } from '../pkg/simsong.js';

const [mp3, model] = process.argv.slice(2);
const wasm = initSync({ module: readFileSync(new URL('../pkg/simsong_bg.wasm', import.meta.url)) });
const engine = new SimilarityEngine(readFileSync(model.replace(/\.onnx$/, '.nnef.tar')));
const bytes = new Uint8Array(readFileSync(mp3));
const started = performance.now();
const analysis = engine.analyzeFile(bytes, 'one_hour.mp3');
const wall = (performance.now() - started) / 1000;
console.log(
  JSON.stringify({
    seconds_of_audio: analysis.durationSeconds,
    wall_seconds: wall,
    wasm_memory_mb: wasm.memory.buffer.byteLength / 2 ** 20,
    peak_rss_mb: resourceUsage().maxRSS / 1024,
  }),
);

// Dedicated worker that owns the wasm engine; the page only renders.
// Messages in:  { id, type: 'init', modelUrl } | { id, type: 'analyzeFile', bytes: ArrayBuffer, name }
// Messages out: { id, ok: true, ... } | { id, ok: false, error: 'readable message' }
import init, { SimilarityEngine } from '../pkg/simsong.js';

let engine = null;

async function load(modelUrl) {
  await init();
  const response = await fetch(modelUrl);
  if (!response.ok) throw new Error(`cannot load the model (${response.status} ${modelUrl})`);
  engine = new SimilarityEngine(new Uint8Array(await response.arrayBuffer()));
  return { info: engine.info };
}

function analyzeFile(bytes, name) {
  if (!engine) throw new Error('the engine is not loaded yet');
  const started = performance.now();
  const a = engine.analyzeFile(new Uint8Array(bytes), name);
  try {
    const result = {
      embedding: a.embedding,
      segmentStarts: a.segmentStarts,
      heads: a.heads,
      source: a.source,
      durationSeconds: a.durationSeconds,
      mel: { columns: a.melColumns, bands: a.melBands, count: a.melColumnCount, secondsPerColumn: a.melSecondsPerColumn },
      elapsedMs: performance.now() - started,
    };
    return { result, transfer: [result.embedding.buffer, result.mel.columns.buffer] };
  } finally {
    a.free();
  }
}

self.onmessage = async ({ data }) => {
  const { id, type } = data;
  try {
    if (type === 'init') {
      self.postMessage({ id, ok: true, ...(await load(data.modelUrl)) });
    } else if (type === 'analyzeFile') {
      const { result, transfer } = analyzeFile(data.bytes, data.name);
      self.postMessage({ id, ok: true, result }, transfer);
    } else {
      throw new Error(`unknown request ${type}`);
    }
  } catch (e) {
    self.postMessage({ id, ok: false, error: String((e && e.message) || e) });
  }
};

// Dedicated worker that owns the wasm engine (model) and the catalog index; the page only renders.
//
// Messages in:  { id, type, gen?, ... } where type is
//   loadIndex { url }              → { info, tracks }
//   loadModel { url }              → { info, indexMismatch: string | null }
//   search { reference, request }  → { hits }          reference: { track } | { file: true }
//   analyzeFile { bytes, name, request } / analyzePcm { samples, sampleRate, channels, name, request }
//                                  → { analysis, hits }
// Messages out: { id, gen, ok: true, ... } | { id, gen, ok: false, error, fatal? } | { id, gen, superseded: true }
//
// `fatal` marks a trap inside wasm (a Rust panic, or memory exhausted): the instance's state can
// no longer be trusted, so the client replaces this worker (see engine-client.js).
//
// Queries carry a generation number `gen`. The wasm calls are synchronous, so a running analysis
// cannot be interrupted, but queries still waiting in the queue when a newer one arrives are
// answered `superseded` without being run. (The client also drops stale answers, so order holds
// even when both ran.)
import init, { SimilarityEngine, SimilarityIndex } from '../pkg/simsong.js';

const wasmReady = init(); // resolves to the module's exports (its memory among them)
let index = null;
let engine = null;
let indexLoading = Promise.resolve();
let modelLoading = null; // null until a model was asked for
let fileAnalysis = null; // the last analysed file, kept for re-searches with other filters

async function fetchBytes(url, what) {
  let response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new Error(`cannot load the ${what} from ${url}: ${e.message}`);
  }
  if (!response.ok) throw new Error(`cannot load the ${what} from ${url} (HTTP ${response.status})`);
  return new Uint8Array(await response.arrayBuffer());
}

async function loadIndex(url) {
  const bytes = await fetchBytes(url, 'catalog index');
  await wasmReady;
  const loaded = new SimilarityIndex(bytes);
  index?.free();
  index = loaded;
  return { info: index.info, tracks: index.tracks() };
}

async function loadModel(url) {
  const bytes = await fetchBytes(url, 'analysis model');
  await wasmReady;
  const loaded = new SimilarityEngine(bytes);
  engine?.free();
  engine = loaded;
  return { info: engine.info, indexMismatch: await modelMismatch() };
}

// Why the model cannot search this index (another model built it), or null.
async function modelMismatch() {
  await indexLoading.catch(() => {});
  if (!index || !engine) return null;
  try {
    index.checkModel(engine);
    return null;
  } catch (e) {
    return e.message;
  }
}

async function needIndex() {
  await indexLoading;
  if (!index) throw new Error('no catalog index is loaded');
  return index;
}

async function needEngine() {
  if (!modelLoading) throw new Error('song analysis is off: no model was given');
  await modelLoading;
  return engine;
}

// wasm memory never shrinks: its size after an analysis is the peak of every analysis so far.
function summarize(a, elapsedMs, wasmMemoryBytes) {
  return {
    durationSeconds: a.durationSeconds,
    source: a.source,
    heads: a.heads,
    segmentStarts: a.segmentStarts,
    embedding: a.embedding,
    mel: { columns: a.melColumns, bands: a.melBands, count: a.melColumnCount, secondsPerColumn: a.melSecondsPerColumn },
    elapsedMs,
    wasmMemoryBytes,
  };
}

async function analyze(data, run) {
  const eng = await needEngine();
  const idx = await needIndex();
  if (isStale(data)) return null;
  const started = performance.now();
  const a = run(eng);
  const analysis = summarize(a, performance.now() - started, (await wasmReady).memory.buffer.byteLength);
  fileAnalysis?.free();
  fileAnalysis = a;
  const hits = idx.searchAnalysis(a, data.request);
  return { result: { analysis, hits }, transfer: [analysis.embedding.buffer, analysis.mel.columns.buffer] };
}

const handlers = {
  loadIndex: (d) => (indexLoading = loadIndex(d.url)),
  loadModel: (d) => (modelLoading = loadModel(d.url)),
  async search({ reference, request }) {
    const idx = await needIndex();
    if (reference.file) {
      if (!fileAnalysis) throw new Error('no file has been analysed');
      return { hits: idx.searchAnalysis(fileAnalysis, request) };
    }
    return { hits: idx.search({ ...request, positive: [{ track: reference.track }, ...(request.positive || [])] }) };
  },
  analyzeFile: (d) => analyze(d, (eng) => eng.analyzeFile(new Uint8Array(d.bytes), d.name)),
  analyzePcm: (d) => analyze(d, (eng) => eng.analyzePcm(d.samples, d.sampleRate, d.channels)),
};

let latestGen = 0;
const isStale = (data) => data.gen !== undefined && data.gen < latestGen;
const queue = [];
let draining = false;

self.onmessage = ({ data }) => {
  if (data.gen !== undefined) latestGen = Math.max(latestGen, data.gen);
  if (data.gen === undefined) {
    run(data); // loads run at once, concurrently with queries
    return;
  }
  queue.push(data);
  if (!draining) {
    draining = true;
    // Let messages that are already waiting arrive first, so stale ones can be skipped.
    setTimeout(drain, 0);
  }
};

async function drain() {
  while (queue.length) await run(queue.shift());
  draining = false;
}

async function run(data) {
  const { id, gen, type } = data;
  if (isStale(data)) {
    self.postMessage({ id, gen, superseded: true });
    return;
  }
  try {
    const handler = handlers[type];
    if (!handler) throw new Error(`unknown request ${type}`);
    const out = await handler(data);
    if (out === null) {
      self.postMessage({ id, gen, superseded: true });
    } else if (out.transfer) {
      self.postMessage({ id, gen, ok: true, ...out.result }, out.transfer);
    } else {
      self.postMessage({ id, gen, ok: true, ...out });
    }
  } catch (e) {
    const fatal = e instanceof WebAssembly.RuntimeError;
    const message = String((e && e.message) || e);
    const error = fatal ? `the analysis engine crashed on this input (${message}); it is being restarted` : message;
    self.postMessage({ id, gen, ok: false, error, fatal });
  }
}

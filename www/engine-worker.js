// Dedicated worker that owns the catalog index (the search module) and, once a visitor brings a
// song, the analysis engine (the analysis module and the model); the page only renders. Its
// messages, answers and errors are protocol.js's.
//
// Two wasm modules (src/wasm/mod.rs): the search module holds the published index (see
// docs/index-format.md): the manifest loads first, the rest of the index at idle; a job asks
// for what it needs (id buckets, neighbour lists, the quantiser, cell tables and the cells it
// probes, filters, re-ranking blocks, metadata, segment rows), which catalog-fetch.js fetches
// and the wasm side checks. The analysis module (decoders, front end,
// model: megabytes) is imported only when a model is asked for. A song analysed here stays here,
// by id (`analyses`): the page names it in a shortlist as `{ analysis: id, part? }`, and its
// embedding goes to the search module only for the search.
//
// `fatal` marks a trap inside wasm (a Rust panic, or memory exhausted): the instance's state can
// no longer be trusted, so the client replaces this worker (see engine-client.js).
//
// Queries carry a generation number `gen`. Queries waiting in the queue when a newer one arrives
// are answered `superseded` without being run; a running query stops at its next fetch, and a
// running analysis after its current step (tens of ms).
import initSearch, { CatalogParts } from '../pkg/simsong_search.js';
import { PartFetcher } from './catalog-fetch.js';
import { AnalysisStore } from './analysis-store.js';
import { chooseEngineBuild, engineUrl, mark, searchEngineUrl } from './engine-build.js';
import { answerFailed, answerOk, answerProgress, answerSuperseded, ErrorCode, errorToWire, Message, SimsongError } from './protocol.js';
import { compileAnalyser, fetchBytes } from './worker-fetch.js';

const NO_SIMD = 'this browser lacks WebAssembly SIMD, which the search engine needs (Chrome 91+, Firefox 89+, Safari 16.4+ have it)';

// The page (engine-client.js) starts compiling the search module before this worker's own
// scripts have loaded and sends the compiled module as the first message, `{ type: 'engine',
// build, module }` (`build`: which analysis build this browser runs, www/engine-build.js); a
// module of null (the page could not compile it) makes the worker fetch and compile it itself,
// which reports the failure in its own words. Without wasm SIMD at all nothing can run, and the
// page says why instead of failing to compile.
let engineBuild = null;
let engineGiven;
const engineMessage = new Promise((resolve) => {
  engineGiven = resolve;
});
const wasmReady = engineMessage.then(async ({ build, module }) => {
  engineBuild = build ?? chooseEngineBuild();
  if (!engineBuild) throw new SimsongError(ErrorCode.NO_SIMD, NO_SIMD);
  const ready = await initSearch({ module_or_path: module ?? searchEngineUrl() });
  mark('engine-ready');
  return ready;
});
wasmReady.catch(() => {}); // each request reports the failure itself
let parts = null;
let fetcher = null;
let engine = null;
let indexLoading = Promise.resolve();
let modelLoading = null; // null until a model was asked for
const analyses = new AnalysisStore(); // songs analysed here, by id

const progressOf =
  (id, stage) =>
  ({ loaded, total }) =>
    self.postMessage(answerProgress(id, undefined, { stage, loaded, total }));

// Fetches `needs` and hands every piece to the index (or records why it could not be had).
async function satisfy(index, needs, source, onProgress, stale) {
  const results = await source.fetchPieces(needs, onProgress);
  if (stale?.()) return false;
  for (const need of needs) {
    const r = results.get(need.key);
    if (r?.bytes) {
      try {
        index.provide(need.key, r.bytes);
      } catch {
        // provide() recorded the failure with its reason; the job decides what it costs. A
        // whole part that fails (cached or just fetched) is dropped, so the next try fetches it
        // again.
        if (need.whole) source.evict(need.file);
      }
    } else {
      index.fail(need.key, r?.error || `catalog part ${need.file}: no answer`);
    }
  }
  return true;
}

// The page's own fetch of a manifest (engine-client.js), by URL: a promise of its bytes or null.
const prefetchedManifests = new Map();
function prefetchedManifest(url) {
  if (!prefetchedManifests.has(url)) {
    let resolve;
    const bytes = new Promise((ok) => (resolve = ok));
    prefetchedManifests.set(url, { bytes, resolve });
  }
  return prefetchedManifests.get(url);
}

async function loadIndex(url, id, prefetched) {
  const source = new PartFetcher(url, { onProgress: progressOf(id, 'index') });
  let manifest = null;
  if (prefetched) {
    const entry = prefetchedManifest(url);
    const bytes = await entry.bytes;
    prefetchedManifests.delete(url);
    manifest = bytes && source.adoptManifest(new Uint8Array(bytes));
  }
  manifest ??= await source.manifest();
  await wasmReady;
  const loaded = new CatalogParts(manifest);
  // Every job fetches what it reads (a "Similar" its neighbour list, a file's search the
  // quantiser and the cells it probes): the index is ready at once, and the whole of it (at
  // 600k tracks, 22 MB: 32-byte codes, filters, quantiser) loads when the worker is idle (completeIndex).
  parts?.free();
  parts = loaded;
  fetcher = source;
  indexComplete = null;
  mark('index-ready');
  return { info: parts.info, fetched: source.bytesFetched, fromCache: source.bytesFromCache, rangeIgnored: source.rangeIgnored };
}

// The whole index: resolves once every part fetched whole is in (started at most once per
// index; a failed try is tried again by the next caller).
let indexComplete = Promise.resolve();
// The pieces go smallest first, and the large ones one at a time, each only once no query has
// run for a moment: a visitor's search shares the network with one background part at most
// (at 600k tracks the codes part alone is 9.6 MB, seconds on a phone's network).
const BACKGROUND_BATCH_BYTES = 64 << 10;
function completeIndex() {
  if (indexComplete) return indexComplete;
  const index = parts;
  const source = fetcher;
  indexComplete = (async () => {
    const tried = new Set();
    for (;;) {
      await whenIdle(250);
      if (index !== parts) return;
      // Asked again each time: a search meanwhile may have fetched some of them.
      const needs = index
        .loadNeeds()
        .filter((n) => !tried.has(n.key))
        .sort((a, b) => a.length - b.length);
      if (!needs.length) break;
      const small = needs.filter((n) => n.length <= BACKGROUND_BATCH_BYTES);
      const batch = small.length ? small : needs.slice(0, 1);
      for (const n of batch) tried.add(n.key);
      await satisfy(index, batch, source, () => {});
    }
    source.forgetWhole();
    if (!index.complete) throw new SimsongError(ErrorCode.INDEX_PART, firstFailure(index, index.info.generations));
    source.prune(index.partFiles()).catch(() => {});
    mark('index-complete');
  })();
  indexComplete.catch(() => {
    if (parts === index) indexComplete = null;
  });
  return indexComplete;
}

// Resolves once no query has run or waited for `quietMs` (the background loads wait for it, so
// that they never share the network with a visitor's first answer).
let lastQueryAt = 0;
let queriesRunning = 0;
function whenIdle(quietMs = 1000) {
  return new Promise((resolve) => {
    const check = () => {
      const quiet = performance.now() - lastQueryAt;
      if (queriesRunning === 0 && queue.length === 0 && quiet >= quietMs) resolve();
      else setTimeout(check, Math.max(50, quietMs - quiet));
    };
    setTimeout(check, quietMs);
  });
}

function firstFailure(index, generations) {
  const keys = ['quantizer'];
  for (let g = 0; g < generations; g++) keys.push(`codes:${g}`, `filters:${g}`);
  for (const key of keys) {
    const why = index.failure(key);
    if (why) return why;
  }
  return 'the catalog could not be loaded';
}

// The analysis module: its JS bindings, and its instance's exports (for the memory figure);
// `analyserLoading` while it loads (once per worker).
let analyser = null;
let analyserWasm = null;
let analyserLoading = null;

async function loadAnalyser(onBytes) {
  const [bindings, module] = await Promise.all([import('../pkg/simsong.js'), compileAnalyser(engineUrl(engineBuild), onBytes)]);
  analyserWasm = await bindings.default({ module_or_path: module });
  analyser = bindings;
  mark('analyser-ready');
}

// Loads the analysis module (the build this browser runs) and the model together, reporting
// their bytes as they arrive; builds the engine.
async function loadModel(url, id) {
  // A visitor is bringing a song: what its search needs first (the quantiser, the cell tables)
  // downloads meanwhile, not after the analysis (a whole part asked for again is fetched once).
  indexLoading.then(() => parts && satisfy(parts, parts.searchNeeds(), fetcher, () => {})).catch(() => {}); // a failure is the search's to report
  // Bytes of both downloads; the total only while both announce theirs (compressed answers don't).
  const sizes = new Map();
  const report = (what) => (loaded, total) => {
    sizes.set(what, { loaded, total });
    const all = [...sizes.values()];
    const sum = (f) => all.reduce((a, x) => a + f(x), 0);
    const known = all.every((x) => x.total != null);
    self.postMessage(answerProgress(id, undefined, { stage: 'model', loaded: sum((x) => x.loaded), total: known ? sum((x) => x.total) : null }));
  };
  let downloaded = false;
  const download = fetchBytes(url, 'analysis model', report('model')).finally(() => {
    downloaded = true;
  });
  download.catch(() => {}); // reported below
  await wasmReady; // (it knows which analysis build this browser runs)
  analyserLoading ??= loadAnalyser(report('engine'));
  try {
    await analyserLoading;
  } catch (e) {
    analyserLoading = null; // another try may work (a network blip)
    throw e;
  }
  // Still downloading (a real network: megabytes): build tract's model reader in the idle
  // time, a part of the build that needs no model bytes (see prepareLoading).
  if (!downloaded) {
    analyser.SimilarityEngine.prepareLoading();
    mark('model-reader');
  }
  const bytes = await download;
  mark('model-build-start');
  const loaded = new analyser.SimilarityEngine(bytes);
  mark('model-built');
  engine?.free();
  engine = loaded;
  return { info: { ...engine.info, engineBuild }, indexMismatch: await modelMismatch() };
}

// Why the model cannot search this index (another model built it: `index-model-mismatch`), as
// { code, message, details }, or null.
async function modelMismatch() {
  await indexLoading.catch(() => {});
  if (!parts || !engine) return null;
  try {
    const { model, modelSha256 } = engine.info;
    parts.checkModelHash(modelSha256, model.name);
    return null;
  } catch (e) {
    return errorToWire(e);
  }
}

async function needIndex() {
  await indexLoading;
  if (!parts) throw new SimsongError(ErrorCode.NO_INDEX, 'no catalog index is loaded');
  return parts;
}

async function needEngine() {
  if (!modelLoading) throw new SimsongError(ErrorCode.ANALYSIS_OFF, 'song analysis is off: no model was given');
  await modelLoading;
  return engine;
}

// Steps a job to its answer, fetching what it asks for; null when a newer query superseded it.
async function runJob(job, data, stage) {
  const index = parts;
  const source = fetcher;
  const before = source.bytesFetched;
  const onProgress = progressOf(data.id, stage);
  index.clearFailures(); // a part that failed before (a network blip) gets another chance
  let engineMs = 0; // time in wasm, fetches excluded
  try {
    for (;;) {
      const t0 = performance.now();
      const s = job.step(index);
      engineMs += performance.now() - t0;
      if (s.done) return { ...s, fetched: source.bytesFetched - before, engineMs };
      if (!(await satisfy(index, s.needs, source, onProgress, () => isStale(data) || index !== parts))) return null;
    }
  } finally {
    job.free();
  }
}

// A search with the whole shortlist (`positive`, `negative`: references as
// AnalysisStore.references reads them) and the request's own fields; the answer carries the first positive reference's
// track details when it is a catalog track, and the embeddings of the parts searched by.
async function searchShortlist(index, { positive, negative, request }, data) {
  const partEmbeddings = {};
  const job = index.search({
    ...request,
    positive: analyses.references(index, positive, partEmbeddings),
    negative: analyses.references(index, negative, partEmbeddings),
  });
  const found = await runJob(job, data, 'search');
  if (!found) return null;
  const answer = Object.keys(partEmbeddings).length ? { ...found, partEmbeddings } : found;
  const first = positive?.[0]?.track;
  if (first == null) return answer;
  // The reference's own details, for the page to show; the hits stand without them. An answer
  // from a neighbour list brought them along.
  if (found.referenceTrack) return { ...answer, reference: found.referenceTrack };
  let track = null;
  try {
    const looked = await runJob(index.lookup([first]), data, 'search');
    if (!looked) return null;
    track = looked.rows[0]?.track ?? null;
  } catch {
    // Its metadata shard could not be fetched: the notes of the search already say so.
  }
  return { ...answer, reference: track };
}

// wasm memory never shrinks: its size after an analysis is the peak of every analysis so far.
function summarize(a, elapsedMs, wasmMemoryBytes) {
  return {
    durationSeconds: a.durationSeconds,
    source: a.source,
    heads: a.heads,
    tempo: a.tempo,
    segmentStarts: a.segmentStarts,
    embedding: a.embedding,
    mel: { columns: a.melColumns, bands: a.melBands, count: a.melColumnCount, secondsPerColumn: a.melSecondsPerColumn },
    elapsedMs,
    wasmMemoryBytes,
  };
}

// Lets messages that arrived meanwhile (a newer query, a cancel) in before the next step. A
// MessageChannel task, not setTimeout: nested timeouts are clamped to 4 ms.
const yieldChannel = new MessageChannel();
const yieldWaiters = [];
yieldChannel.port1.onmessage = () => yieldWaiters.shift()?.();
const yieldToMessages = () =>
  new Promise((resolve) => {
    yieldWaiters.push(resolve);
    yieldChannel.port2.postMessage(0);
  });

// Analysis progress is reported at most this often (ms): enough for a smooth bar.
const PROGRESS_EVERY_MS = 50;

// Runs an analysis job step by step (each step a few tens of ms), reporting progress, and drops
// it as soon as a newer query supersedes this one. Memory stays bounded: the job streams.
async function analyze(data, start, search = true) {
  const eng = await needEngine();
  const idx = await needIndex();
  if (isStale(data)) return null;
  const started = performance.now();
  const job = start(eng);
  let a;
  try {
    let reported = -Infinity;
    while (!(a = job.step(eng))) {
      const now = performance.now();
      if (now - reported >= PROGRESS_EVERY_MS) {
        const { stage, fraction } = job.progress;
        self.postMessage(answerProgress(data.id, data.gen, { stage, fraction: fraction ?? null }));
        reported = now;
      }
      await yieldToMessages();
      if (isStale(data)) return null;
    }
  } finally {
    // After a trap the instance is unusable and free() throws too: keep the original error.
    try {
      job.free();
    } catch {}
  }
  const analysis = { id: analyses.keep(a), ...summarize(a, performance.now() - started, analyserWasm.memory.buffer.byteLength) };
  if (!search) return { result: { analysis }, transfer: [analysis.embedding.buffer, analysis.mel.columns.buffer] };
  const found = await searchShortlist(idx, { positive: [{ analysis: analysis.id, part: data.part }], request: data.request }, data);
  if (!found) return null;
  return { result: { analysis, ...found }, transfer: [analysis.embedding.buffer, analysis.mel.columns.buffer] };
}

// The spectrogram of a catalog track, from its preview: nothing is stored in the index for it.
// Runs between queries (a step at a time, like an analysis) and leaves the analysed file alone.
let overviewWanted = 0;
async function overview(data) {
  const mine = ++overviewWanted;
  const eng = await needEngine();
  const bytes = await fetchBytes(data.url, 'preview');
  if (mine !== overviewWanted) return null;
  const job = eng.startFile(bytes, data.url.split('/').pop());
  let a = null;
  try {
    while (!(a = job.step(eng))) {
      await yieldToMessages();
      if (mine !== overviewWanted) return null;
    }
    const mel = { columns: a.melColumns, bands: a.melBands, count: a.melColumnCount, secondsPerColumn: a.melSecondsPerColumn };
    return { result: { mel, durationSeconds: a.durationSeconds }, transfer: [mel.columns.buffer] };
  } finally {
    try {
      job.free();
      a?.free();
    } catch {}
  }
}

const handlers = {
  [Message.OVERVIEW]: overview,
  [Message.LOAD_INDEX]: (d) => (indexLoading = loadIndex(d.url, d.id, d.prefetched)),
  [Message.LOAD_MODEL]: (d) => (modelLoading = loadModel(d.url, d.id)),
  async [Message.SEARCH](data) {
    return searchShortlist(await needIndex(), data, data);
  },
  [Message.ANALYZE_FILE]: (d) => analyze(d, (eng) => eng.startFile(new Uint8Array(d.bytes), d.name)),
  [Message.ANALYZE_PCM]: (d) => analyze(d, (eng) => eng.startPcm(d.samples, d.sampleRate, d.channels)),
  [Message.EMBED_FILE]: (d) => analyze(d, (eng) => eng.startFile(new Uint8Array(d.bytes), d.name), false),
  [Message.EMBED_PCM]: (d) => analyze(d, (eng) => eng.startPcm(d.samples, d.sampleRate, d.channels), false),
  async [Message.COMPLETE_INDEX]() {
    await needIndex();
    await whenIdle();
    await completeIndex();
    return { info: parts.info };
  },
  async [Message.BROWSE](data) {
    const idx = await needIndex();
    return runJob(idx.browse(data.filter, data.offset, data.limit), data, 'browse');
  },
  async [Message.LOOKUP](data) {
    const idx = await needIndex();
    return runJob(idx.lookup(data.ids), data, 'lookup');
  },
  async [Message.STATS]() {
    // Both modules' memories (the analysis module's only once loaded).
    const memory = (await wasmReady).memory.buffer.byteLength + (analyserWasm?.memory.buffer.byteLength ?? 0);
    return {
      fetched: fetcher?.bytesFetched ?? 0,
      fromCache: fetcher?.bytesFromCache ?? 0,
      requests: fetcher?.requests ?? 0,
      rangeIgnored: fetcher?.rangeIgnored ?? false,
      wasmMemoryBytes: memory,
      heldBytes: parts?.heldBytes() ?? 0,
    };
  },
};

let latestGen = 0;
const isStale = (data) => data.gen !== undefined && data.gen < latestGen;
const queue = [];
let draining = false;

self.onmessage = ({ data }) => {
  if (data.type === Message.ENGINE) {
    engineGiven(data);
    return;
  }
  if (data.type === Message.MANIFEST) {
    prefetchedManifest(data.url).resolve(data.bytes);
    return;
  }
  if (data.gen !== undefined) latestGen = Math.max(latestGen, data.gen);
  if (data.type === Message.CANCEL) return; // only makes older queries stale (engine-client cancelQueries)
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
  while (queue.length) {
    queriesRunning++;
    try {
      await run(queue.shift());
    } finally {
      queriesRunning--;
      lastQueryAt = performance.now();
    }
  }
  draining = false;
}

async function run(data) {
  const { id, gen, type } = data;
  if (isStale(data)) {
    self.postMessage(answerSuperseded(id, gen));
    return;
  }
  try {
    const handler = Object.hasOwn(handlers, type) ? handlers[type] : null;
    if (!handler) throw new SimsongError(ErrorCode.UNKNOWN_MESSAGE, `unknown request ${type}`, { type });
    const out = await handler(data);
    if (out === null) {
      self.postMessage(answerSuperseded(id, gen));
    } else if (out.transfer) {
      self.postMessage(answerOk(id, gen, out.result), out.transfer);
    } else {
      self.postMessage(answerOk(id, gen, out));
    }
  } catch (e) {
    if (e instanceof WebAssembly.RuntimeError) {
      const crashed = new SimsongError(ErrorCode.ENGINE_CRASHED, `the analysis engine crashed on this input (${e.message}); it is being restarted`);
      self.postMessage(answerFailed(id, gen, crashed, true));
    } else {
      self.postMessage(answerFailed(id, gen, e));
    }
  }
}

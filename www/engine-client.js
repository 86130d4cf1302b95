// Main-thread handle on the engine worker: promise-based requests, queries that supersede
// each other, and recovery when the worker dies. The messages are protocol.js's; a failed
// request rejects with a SimsongError (its `code` and `details` as the worker sent them).
//
// Every query gets a new generation number; an answer to an older generation is dropped (its
// promise resolves to null), so results never arrive out of order.
//
// A worker can fail: an uncaught error, or a trap inside wasm (a bug, or memory exhausted),
// after which its engine cannot be trusted. The client then rejects what was pending, starts a
// fresh worker, replays the last loadIndex/loadModel on it and calls `onRestart(reason)` with
// the outcome. More than MAX_RESTARTS failures within RESTART_WINDOW_MS stop the restarts: a
// worker that keeps failing is reported, not respawned forever.
//
// The search module's wasm is compiled here, on the page, as soon as the client exists: a worker
// would start fetching it only once its own module scripts have loaded, and a replacement worker
// gets the same compiled module instead of compiling again. The analysis module is the worker's
// to load, when a model is asked for (loadModel): only a visitor who brings a song pays for it.
import { chooseEngineBuild, mark, searchEngineUrl } from './engine-build.js';
import { ErrorCode, errorFromWire, Message, SimsongError } from './protocol.js';

const MAX_RESTARTS = 3;
const RESTART_WINDOW_MS = 60_000;

export class EngineClient {
  /**
   * @param {object} [options]
   * @param {URL} [options.workerUrl] another worker script (default: engine-worker.js)
   * @param {(event: { reason: string, restarted: boolean, loads: { loadIndex?: Promise<unknown>, loadModel?: Promise<unknown> } }) => void} [options.onRestart]
   */
  constructor({ workerUrl = null, onRestart = () => {} } = {}) {
    this.workerUrl = workerUrl;
    this.engineBuild = chooseEngineBuild();
    this.engineModule = this.engineBuild ? compileEngine(searchEngineUrl()) : Promise.resolve(null);
    this.onRestart = onRestart;
    this.pending = new Map();
    this.nextId = 1;
    this.generation = 0;
    this.lastLoads = {}; // type → url: replayed on a new worker
    this.failures = []; // times of recent failures
    this.dead = null; // the reason, once restarts were given up
    this.#spawn();
  }

  #spawn() {
    // The literal form lets a store's bundler find the worker and bundle it with its imports.
    const worker = this.workerUrl ? new Worker(this.workerUrl, { type: 'module' }) : new Worker(new URL('./engine-worker.js', import.meta.url), { type: 'module' });
    // The compiled engine (or null: the worker then compiles it and reports what fails).
    this.engineModule.then((module) => worker.postMessage({ type: Message.ENGINE, build: this.engineBuild, module }));
    worker.onmessage = ({ data }) => {
      if (worker !== this.worker) return;
      const type = this.pending.get(data.id)?.type;
      this.#answer(data);
      if (data.fatal) {
        // A load that crashed the engine is not replayed on the next worker: it would crash
        // that one too. Its caller has the error; the rest keeps working.
        if (type === Message.LOAD_INDEX || type === Message.LOAD_MODEL) delete this.lastLoads[type];
        this.#failed(data.error.message);
      }
    };
    worker.onerror = (e) => {
      e.preventDefault?.();
      if (worker === this.worker) this.#failed(e.message || 'it could not start');
    };
    worker.onmessageerror = () => {
      if (worker === this.worker) this.#failed('a message could not be read');
    };
    this.worker = worker;
  }

  #failed(reason) {
    this.worker.terminate();
    const now = Date.now();
    this.failures = this.failures.filter((t) => now - t < RESTART_WINDOW_MS).concat(now);
    // Loads in flight are replayed on the fresh worker (see onRestart).
    this.#failAll(new SimsongError(ErrorCode.WORKER_FAILED, `the analysis worker failed: ${reason}`, { reason }));
    if (this.failures.length > MAX_RESTARTS) {
      this.dead = `the analysis worker failed ${this.failures.length} times in a minute (last: ${reason})`;
      this.onRestart({ reason, restarted: false, loads: {} });
      return;
    }
    this.#spawn();
    const loads = {};
    for (const [type, url] of Object.entries(this.lastLoads)) {
      loads[type] = this.#send({ type, url });
      loads[type].catch(() => {}); // the caller sees the outcome through `loads`
    }
    this.onRestart({ reason, restarted: true, loads });
  }

  #answer(data) {
    const p = this.pending.get(data.id);
    if (!p) return;
    if (data.progress) {
      // Bytes of catalog parts arriving for this request; the answer comes later.
      if (data.gen === undefined || data.gen === this.generation) p.onProgress?.(data.progress);
      return;
    }
    this.pending.delete(data.id);
    if (data.superseded || (data.gen !== undefined && data.gen !== this.generation)) p.resolve(null);
    else if (data.ok) p.resolve(data);
    else p.reject(errorFromWire(data.error));
  }

  #failAll(error) {
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }

  #send(message, transfer, onProgress) {
    if (this.dead) return Promise.reject(new SimsongError(ErrorCode.WORKER_STOPPED, this.dead));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, type: message.type, onProgress });
      this.worker.postMessage({ id, ...message }, transfer);
    });
  }

  /**
   * Loads (or replaces) the catalog index (the URL of a published index's index.json):
   * `{ info, fetched }`. `onProgress({ stage, loaded, total })` hears the bytes as they arrive.
   */
  loadIndex(url, onProgress) {
    this.lastLoads.loadIndex = url;
    // The page fetches the manifest itself, at once: the worker would fetch it only once its own
    // script and the search module are in (about 0.2 s later on a phone's 4G). The worker waits
    // for the bytes (`manifest` message); without them (a failed or slow fetch) it fetches the
    // manifest itself and reports what goes wrong.
    const answer = this.#send({ type: Message.LOAD_INDEX, url, prefetched: true }, [], onProgress);
    prefetchManifest(url).then((bytes) => {
      if (!this.dead) this.worker.postMessage({ type: Message.MANIFEST, url, bytes }, bytes ? [bytes] : []);
    });
    return answer;
  }

  /**
   * Loads the analysis module and the model (once a visitor brings a song): `{ info,
   * indexMismatch }`. `onProgress({ stage: 'model', loaded, total })` hears their bytes arrive.
   */
  loadModel(url, onProgress) {
    this.lastLoads.loadModel = url;
    return this.#send({ type: Message.LOAD_MODEL, url }, [], onProgress);
  }

  /** A query that supersedes every earlier one; resolves to null when a newer query replaced it. */
  query(message, transfer = [], onProgress = undefined) {
    return this.#send({ ...message, gen: ++this.generation }, transfer, onProgress);
  }

  /** A request that supersedes nothing (a lookup, statistics). */
  request(message) {
    return this.#send(message);
  }

  /** Makes every pending query stale without starting a new one. */
  cancelQueries() {
    this.generation++;
    // Tell the worker too, so that a running analysis stops after its current step.
    if (!this.dead) this.worker.postMessage({ type: Message.CANCEL, gen: this.generation });
  }

  terminate() {
    this.worker.terminate();
    this.#failAll(new SimsongError(ErrorCode.WORKER_STOPPED, 'the analysis worker was stopped'));
  }
}

/** Waits this long for the page's own fetch of the manifest before the worker fetches it itself. */
const MANIFEST_PREFETCH_MS = 10000;

/** The manifest's bytes (revalidated, as the worker fetches it); null when that fails. */
async function prefetchManifest(url) {
  try {
    const response = await fetch(url, { cache: 'no-cache', signal: AbortSignal.timeout(MANIFEST_PREFETCH_MS) });
    return response.ok ? await response.arrayBuffer() : null;
  } catch {
    return null;
  }
}

/** Fetches and compiles the search module; null when that fails (the worker then retries and reports). */
async function compileEngine(url) {
  try {
    const response = await fetch(url);
    if (!response.ok) return null;
    // Streaming compilation overlaps the download; it needs the right MIME type.
    const streaming = typeof WebAssembly.compileStreaming === 'function' && response.headers.get('Content-Type')?.split(';')[0].trim() === 'application/wasm';
    const module = await (streaming ? WebAssembly.compileStreaming(response) : WebAssembly.compile(await response.arrayBuffer()));
    mark('engine-compiled');
    return module;
  } catch {
    return null;
  }
}

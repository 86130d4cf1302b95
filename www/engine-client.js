// Main-thread handle on the engine worker: promise-based requests, and queries that supersede
// each other. Every query gets a new generation number; an answer to an older generation is
// dropped (its promise resolves to null), so results never arrive out of order.
export class EngineClient {
  constructor(workerUrl = new URL('./engine-worker.js', import.meta.url)) {
    this.worker = new Worker(workerUrl, { type: 'module' });
    this.pending = new Map();
    this.nextId = 1;
    this.generation = 0;
    this.worker.onmessage = ({ data }) => this.#answer(data);
    this.worker.onerror = (e) => {
      e.preventDefault?.();
      this.#failAll(new Error(`the analysis worker failed: ${e.message || 'it could not start'}`));
    };
  }

  #answer(data) {
    const p = this.pending.get(data.id);
    if (!p) return;
    this.pending.delete(data.id);
    if (data.superseded || (data.gen !== undefined && data.gen !== this.generation)) p.resolve(null);
    else if (data.ok) p.resolve(data);
    else p.reject(new Error(data.error));
  }

  #failAll(error) {
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }

  #send(message, transfer) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, ...message }, transfer);
    });
  }

  /** Loads (or replaces) the catalog index: `{ info, tracks }`. */
  loadIndex(url) {
    return this.#send({ type: 'loadIndex', url });
  }

  /** Loads the model: `{ info, indexMismatch }`. */
  loadModel(url) {
    return this.#send({ type: 'loadModel', url });
  }

  /** A query that supersedes every earlier one; resolves to null when a newer query replaced it. */
  query(message, transfer = []) {
    return this.#send({ ...message, gen: ++this.generation }, transfer);
  }

  /** Makes every pending query stale without starting a new one. */
  cancelQueries() {
    this.generation++;
  }

  terminate() {
    this.worker.terminate();
    this.#failAll(new Error('the analysis worker was stopped'));
  }
}

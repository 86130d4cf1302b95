// Main-thread handle on the engine worker: promise-based requests.
export class EngineClient {
  constructor(workerUrl = new URL('./engine-worker.js', import.meta.url)) {
    this.worker = new Worker(workerUrl, { type: 'module' });
    this.pending = new Map();
    this.nextId = 1;
    this.worker.onmessage = ({ data }) => {
      const p = this.pending.get(data.id);
      if (!p) return;
      this.pending.delete(data.id);
      data.ok ? p.resolve(data) : p.reject(new Error(data.error));
    };
    this.worker.onerror = (e) => {
      const error = new Error(`the analysis worker failed: ${e.message || 'unknown error'}`);
      for (const p of this.pending.values()) p.reject(error);
      this.pending.clear();
    };
  }

  request(message, transfer = []) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, ...message }, transfer);
    });
  }

  async init(modelUrl) {
    return (await this.request({ type: 'init', modelUrl })).info;
  }

  async analyzeFile(file) {
    const bytes = await file.arrayBuffer();
    return (await this.request({ type: 'analyzeFile', bytes, name: file.name }, [bytes])).result;
  }
}

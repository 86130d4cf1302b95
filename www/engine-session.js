// The element's engine session: the worker (engine-client.js) with the catalog index and, once a
// visitor starts to bring a song, the analysis engine and model loaded into it, and what the
// element learns of them. The catalog loads at once (track searches, browsing, filters); the
// analyser (megabytes: the analysis module and the model) only on `prepareAnalysis()`, which the
// element calls when a file is dragged over it, its file chooser opens or a song is searched by. When the worker dies the
// client starts a fresh one and replays both loads; this finishes what the failure cut short and
// says what was lost, while the view (list, results) stays as it was.
//
// The element is the `host`; it is told what to show:
//   url(attr)                        the absolute URL in attribute 'index' | 'model', or null
//   status(text, kind, since?)       the status line (kind 'info' | 'busy' | 'error')
//   progress(text, progress, since)  progress of a load
//   fail(stage, message, error)      an error: shown, and an `error` event (with error's code)
//   emit(type, detail)               an event (`modelready`, `error`, `workerrestart`)
//   indexLoaded(info)                a catalog is in: show it (track searches work from now)
//   modelProgress(progress, since)   bytes of the analyser and model arriving ({ stage: 'model', loaded, total })
//   modelReady()                     the model is in (`modelProblem` says if it does not fit the catalog)
//   modelUnavailable()               songs cannot be analysed (`modelProblem` says why)
//   ticket()                         the element's latest search (a restart reports only if none came since)
import { EngineClient } from './engine-client.js';
import { ErrorCode, errorFromWire, errorToWire, hasCode, Message, SimsongError } from './protocol.js';

/** `modelProblem` while the model downloads and builds: a song dropped then waits for it. */
const modelLoading = () => new SimsongError(ErrorCode.MODEL_LOADING, 'the analysis model is still loading');
const analysisOff = () => new SimsongError(ErrorCode.ANALYSIS_OFF, 'song analysis is off (no model attribute)');

export class EngineSession {
  /** The worker's client, null until started and after it is stopped. */
  client = null;
  /** The loaded index's info (engine-worker.js `loadIndex`), or null. */
  indexInfo = null;
  /** The loaded model's info, or null. */
  modelInfo = null;
  /** Why files cannot be analysed (a SimsongError: `model-loading` while it loads), or null. */
  modelProblem = null;
  /** The model's load in flight or done (a promise of its info), or null until asked for. */
  #modelLoad = null;
  /** Asked for before the session started: start() loads it and resolves this (null: not asked). */
  #analysisWanted = null;
  /** Resolves once an index is loaded. */
  ready;
  #resolveReady;
  #host;
  #restarts = 0; // worker restarts so far

  constructor(host) {
    this.#host = host;
    this.ready = new Promise((resolve) => (this.#resolveReady = resolve));
  }

  start() {
    this.client = new EngineClient({ onRestart: (event) => this.#workerRestarted(event) });
    this.#host.status('Loading the catalog…', 'busy');
    this.loadIndex();
    this.#modelLoad = null;
    this.modelInfo = null;
    this.modelProblem = null;
    if (!this.#host.url('model')) this.#modelUnavailable(analysisOff());
    if (this.#analysisWanted) this.#analysisWanted.resolve(this.prepareAnalysis());
    this.#analysisWanted = null;
  }

  /**
   * Starts loading the analyser and the model, once (a visitor is bringing a song); resolves to
   * the model's info, or null when songs cannot be analysed (`modelProblem` says why).
   */
  prepareAnalysis() {
    if (!this.client) {
      if (!this.#analysisWanted) {
        let resolve;
        const promise = new Promise((ok) => (resolve = ok));
        this.#analysisWanted = { promise, resolve };
      }
      return this.#analysisWanted.promise;
    }
    this.#modelLoad ??= this.loadModel();
    return this.#modelLoad;
  }

  /** The `model` attribute changed: a model already asked for is loaded again from there. */
  modelChanged() {
    if (this.#modelLoad) {
      this.#modelLoad = this.loadModel();
      return;
    }
    this.modelProblem = null;
    if (!this.#host.url('model')) this.#modelUnavailable(analysisOff());
    else this.#host.modelReady(); // songs can be brought again: the drop zone and warning say so
  }

  stop() {
    this.client?.terminate();
    this.client = null;
  }

  async loadIndex() {
    const url = this.#host.url('index');
    if (!url) {
      const error = new SimsongError(ErrorCode.NO_INDEX, 'no catalog: set the element’s index attribute to the URL of a catalog index');
      this.#host.fail('index', error.message, error);
      return;
    }
    const started = performance.now();
    try {
      const client = this.client;
      const { info } = await client.loadIndex(url, (p) => this.#host.progress('Loading the catalog…', p, started));
      this.#indexLoaded(info);
      if (!info.complete) this.#completeIndex(client, url);
    } catch (e) {
      // The worker died during the load (another request crashed it): the fresh worker loads
      // the index again and #workerRestarted finishes the job.
      if (hasCode(e, ErrorCode.WORKER_FAILED) && this.client?.lastLoads.loadIndex === url) return;
      this.#host.fail('index', `The catalog could not be loaded: ${e.message}`, e);
    }
  }

  /** Loads the analyser and the model now (see prepareAnalysis); resolves to its info or null. */
  async loadModel() {
    const url = this.#host.url('model');
    this.modelInfo = null;
    if (!url) {
      this.#modelUnavailable(analysisOff());
      return null;
    }
    this.modelProblem = modelLoading();
    const started = performance.now();
    try {
      const { info, indexMismatch } = await this.client.loadModel(url, (p) => this.#host.modelProgress(p, started));
      this.modelInfo = info;
      this.modelProblem = indexMismatch && errorFromWire({ ...indexMismatch, message: `the model does not match this catalog: ${indexMismatch.message}` });
      this.#host.modelReady();
      this.#host.emit('modelready', { model: info });
      return info;
    } catch (e) {
      // The next visitor's song tries again (a network blip need not last the page's life).
      this.#modelLoad = null;
      const { code, message, details } = errorToWire(e);
      this.#modelUnavailable(new SimsongError(code, `song analysis is unavailable: ${message}`, details));
      this.#host.emit('error', { stage: 'model', message, code, details });
      return null;
    }
  }

  /** Why a song cannot be analysed now (a SimsongError), or null (also while the model is still loading). */
  get analysisRefused() {
    const why = this.modelProblem;
    return why && this.modelInfo === null && !hasCode(why, ErrorCode.MODEL_LOADING) ? why : null;
  }

  // An index answered from its manifest (neighbour lists): the worker loads the rest when idle;
  // the tags and tempi it brings then reach the element. A failure here is the next search's to
  // report (its job asks for the same parts).
  async #completeIndex(client, url) {
    try {
      const { info } = await client.request({ type: Message.COMPLETE_INDEX });
      if (client !== this.client || this.#host.url('index') !== url) return;
      this.indexInfo = info;
      this.#host.indexCompleted(info);
    } catch {}
  }

  #indexLoaded(info) {
    this.indexInfo = info;
    this.#host.indexLoaded(info);
    this.#resolveReady();
  }

  #modelUnavailable(why) {
    this.modelProblem = why;
    this.#host.modelUnavailable();
  }

  async #workerRestarted({ reason, restarted, loads }) {
    const ticket = this.#host.ticket();
    const restart = ++this.#restarts;
    if (!restarted) {
      this.#host.modelUnavailable();
      const error = new SimsongError(ErrorCode.WORKER_STOPPED, `Search stopped working: ${this.client?.dead ?? reason}. Reload the page to try again.`, { reason });
      this.#host.fail('worker', error.message, error);
      return;
    }
    this.#host.emit('error', { stage: 'worker', message: `the analysis worker failed (${reason}); restarting it`, code: ErrorCode.WORKER_FAILED, details: { reason } });
    const [index, model] = await Promise.allSettled([loads.loadIndex, loads.loadModel]);
    if (restart !== this.#restarts) return; // it failed again meanwhile; the newer restart reports
    if (loads.loadIndex && index.status === 'rejected') {
      this.#host.fail('index', `The catalog could not be reloaded: ${index.reason.message}`, index.reason);
      return;
    }
    // The first load was cut short by the failure: this one completes it.
    if (loads.loadIndex && !this.indexInfo) this.#indexLoaded(index.value.info);
    // The fresh worker answered from the manifest alone: it loads the rest when idle, as the
    // first one would have.
    if (loads.loadIndex && !index.value.info.complete) this.#completeIndex(this.client, this.#host.url('index'));
    if (loads.loadModel && model.status === 'rejected') {
      const { code, message, details } = errorToWire(model.reason);
      this.#modelUnavailable(new SimsongError(code, `song analysis is unavailable: ${message}`, details));
    }
    if (ticket === this.#host.ticket()) {
      this.#host.status(`The analysis worker failed (${reason}) and was restarted. Search again.`, 'error');
    }
    this.#host.emit('workerrestart', { reason });
  }
}

// <similar-songs>: similar-song search over a catalog index, in a custom element.
//
//   <script type="module" src="/simsong/www/similar-songs.js"></script>
//   <similar-songs index="/catalog/index.json" model="/simsong.nnef.tar" k="10" browse></similar-songs>
//
// The wasm engine and the index live in a Web Worker (engine-worker.js); this file only renders.
// Attributes, events, CSS properties and the JS API are documented in README.md ("The widget")
// and typed in similar-songs.d.ts.
import { EngineSession } from './engine-session.js';
import { isUnsupportedFormat } from './browser-decode.js';
import { readSong, UnreadableFile } from './song-file.js';
import { formatDuration } from './tags.js';
import { SearchFilter } from './search-filter.js';
import { readyText, reserveTrackPicture, showModelWarning, showReference, showSteering, showTrackPicture, skeleton, wireInputs } from './similar-songs-view.js';
import { TrackPictures } from './track-picture.js';
import { TrackList } from './track-list.js';
import { ReferenceSet, parseIds } from './references.js';
import { PreviewPlayer } from './preview-player.js';
import { StatusLine } from './status-line.js';
import { PartSelector } from './part-select.js';
import { clearBpm, formatBpm } from './tempo-filter.js';

const CSS_URL = new URL('./similar-songs.css', import.meta.url).href;
// Tracks per browse page (the catalog may hold hundreds of thousands: pages are fetched as asked).
const BROWSE_PAGE = 100;

export class SimilarSongsElement extends HTMLElement {
  static observedAttributes = ['index', 'model', 'k', 'filter', 'outside', 'bpm', 'similar-tempo', 'track', 'positive', 'negative', 'browse'];

  #session; // the worker with the index and the model (engine-session.js)
  #ui = null;
  #started = false;
  #tracks = new Map(); // id → track: every track seen so far (browse pages, results, references)
  #browse = { rows: [], total: 0 }; // the catalog pages shown while browsing
  #filters = new SearchFilter(); // tags, outside, tempo range, similar tempo (search-filter.js)
  #reference = null; // null | { kind: 'track', id } | { kind: 'file', name, blobUrl } | { kind: 'pcm', name }: #refs.primary
  #refs = new ReferenceSet(); // the shortlist that steers the ranking (references.js)
  #workerFile = null; // the analysed song whose analysis the worker holds (searched as { file: true })
  #hits = null; // null: browsing
  #list = null; // the rows shown, their selection and keyboard (track-list.js)
  #player = null;
  #status = null; // the status line (status-line.js)
  #parts = null; // the part-of-song selector on the spectrogram (part-select.js)
  #pictures = new TrackPictures((message) => this.#engine.request(message)); // catalog references' spectrograms
  #ticket = 0; // taken when a search is asked for, so the last call wins even if its set-up is slower

  constructor() {
    super();
    this.attachShadow({ mode: 'open' });
    this.#session = new EngineSession(this.#sessionHost());
  }

  connectedCallback() {
    if (this.#started) return;
    this.#started = true;
    if (!this.#ui) {
      this.#ui = skeleton(this.shadowRoot, CSS_URL);
      this.#player = new PreviewPlayer(this.#ui.audio, this.#ui.nowPlaying, () => this.#list.markPlaying());
      this.#list = new TrackList(this.#ui, this.#player, {
        play: (track, hit, start) => this.#play(track, hit, start),
        similar: (id) => this.searchByTrack(id).catch(() => {}),
        toggle: (id, polarity) => this.#toggleReference(id, polarity),
        polarityOf: (id) => this.#refs.polarityOf(id),
        choose: (track, hit) => this.#emit('trackchoose', { track, hit }),
      });
      this.#status = new StatusLine(this.#ui, this);
      // Choosing a part of a dropped song on its spectrogram (part-select.js).
      this.#parts = new PartSelector(this.#ui.mel, (from, to) => this.searchByPart(from, to).catch(() => {}));
      this.#parts.mount();
      this.#wire();
    }
    this.#filters.readAttributes(this);
    // Start in a microtask, so that attributes which the creating script sets right after
    // inserting the element are seen.
    queueMicrotask(() => this.#start());
  }

  disconnectedCallback() {
    // Kept alive while attached elsewhere in the same task (moves); stopped otherwise.
    queueMicrotask(() => {
      if (!this.isConnected && this.#engine) {
        this.#session.stop();
        this.#started = false;
        this.#player.pause();
      }
    });
  }

  attributeChangedCallback(name, old, value) {
    if (!this.#engine || old === value) return;
    if (name === 'index') this.#session.loadIndex();
    else if (name === 'model') this.#session.loadModel();
    else if (name === 'filter' || name === 'outside') {
      this.#filters.readTags(this);
      this.#filtersChanged();
    } else if (name === 'bpm' || name === 'similar-tempo') {
      this.#filters.readTempo(this);
      this.#filtersChanged();
    } else if (name === 'track' && value) this.searchByTrack(value).catch(() => {});
    else if (name === 'positive' || name === 'negative') this.#searchFromAttributes();
    else if (name === 'k') this.#rerun();
    else if (name === 'browse') this.#loadBrowse();
  }

  // ---- public API ----------------------------------------------------------------------

  /** Resolves once the index is loaded (track searches work from then on). */
  get ready() {
    return this.#session.ready;
  }

  /** The tracks loaded so far (browse pages, results, references), not the whole catalog. */
  get tracks() {
    return [...this.#tracks.values()];
  }

  /** Number of tracks in the catalog (once ready). */
  get trackCount() {
    return this.#indexInfo?.tracks ?? 0;
  }

  get indexInfo() {
    return this.#indexInfo;
  }

  get modelInfo() {
    return this.#modelInfo;
  }

  /** The current results (hits with their track), or null while browsing. */
  get results() {
    return this.#hits && this.#hits.map((h) => ({ ...h }));
  }

  get filter() {
    return this.#filters.text;
  }

  /** The tempo range, `{ min, max }` in BPM (a bound null when open), or null. */
  get bpm() {
    const range = this.#filters.bpm;
    return range && { ...range };
  }

  set bpm(range) {
    const text = typeof range === 'string' ? range : formatBpm(range);
    if (text) this.setAttribute('bpm', text);
    else this.removeAttribute('bpm');
  }

  /** Only tempi like the reference's (its double and half too): the `similar-tempo` attribute. */
  get similarTempo() {
    return this.#filters.similarTempo;
  }

  set similarTempo(on) {
    this.toggleAttribute('similar-tempo', Boolean(on));
  }

  set filter(text) {
    this.setAttribute('filter', text || '');
  }

  get k() {
    const k = Number.parseInt(this.getAttribute('k') || '10', 10);
    return Number.isFinite(k) && k >= 1 ? Math.min(k, 1000) : 10;
  }

  set k(value) {
    this.setAttribute('k', String(value));
  }

  /** Songs similar to catalog track `id`. Resolves to the hits, or null if a newer search replaced it. */
  async searchByTrack(id) {
    const ticket = ++this.#ticket;
    await this.#session.ready;
    if (ticket !== this.#ticket) return null;
    id = String(id);
    const title = this.#tracks.get(id)?.title || id;
    this.#refs.reset([{ kind: 'track', id }]);
    return this.#steer(`Finding songs similar to “${title}”…`);
  }

  /**
   * Songs similar to an audio file (a File or Blob), analysed in the worker; with `start` /
   * `end` (seconds), similar to that part of it only.
   */
  async searchByFile(file, { start, end } = {}) {
    const ticket = ++this.#ticket;
    const name = file.name || 'your file';
    const reference = { kind: 'file', name, blob: file, part: partOf(start, end) };
    try {
      return await readSong(file, {
        isCurrent: () => ticket === this.#ticket,
        viaBytes: (bytes) => this.#analyze(reference, { type: 'analyzeFile', bytes, name, part: reference.part }, [bytes]),
        viaPcm: ({ samples, sampleRate, channels }) => this.#analyze({ ...reference, decodedBy: 'browser' },
          { type: 'analyzePcm', samples, sampleRate, channels, name, part: reference.part }, [samples.buffer]),
      });
    } catch (e) {
      if (e instanceof UnreadableFile) this.#fail('analysis', e.message);
      throw e;
    }
  }

  /**
   * Songs like the part from `start` to `end` seconds of the song shown as the reference (a
   * dropped or chosen file, or PCM); without `start`, like the whole of it again. The hits'
   * best-matching segments are shown as for any search.
   */
  async searchByPart(start, end) {
    const ref = this.#refs.primary;
    if (!ref?.analysis) {
      const message = 'a part can only be chosen of a song of yours: drop or choose one first';
      this.#fail('search', `Cannot search by a part: ${message}`);
      throw new Error(message);
    }
    ++this.#ticket;
    ref.part = partOf(start, end ?? ref.analysis.durationSeconds);
    const what = ref.part ? `${formatDuration(ref.part.start)}–${formatDuration(ref.part.end)} of “${ref.name}”` : `“${ref.name}”`;
    return this.#steer(`Finding songs like ${what}…`);
  }

  /** Songs similar to interleaved PCM samples (full scale ±1), for stores with their own decoder. */
  searchByPcm(samples, sampleRate, channels, name = 'audio') {
    const copy = Float32Array.from(samples);
    ++this.#ticket;
    return this.#analyze({ kind: 'pcm', name },
      { type: 'analyzePcm', samples: copy, sampleRate, channels, name }, [copy.buffer]);
  }

  /**
   * The shortlist that steers the ranking: `{ positive, negative }`, each a list of
   * `{ kind: 'track', id }` or `{ kind: 'file' | 'pcm', name }`; the first positive one is the
   * reference shown.
   */
  get references() {
    return this.#refs.describe();
  }

  /**
   * Songs like all of `positive` and unlike `negative` (track ids, or audio Files / Blobs, which
   * are analysed here first). Replaces the shortlist; resolves to the hits, or null when a newer
   * search replaced it.
   */
  async searchByReferences({ positive = [], negative = [] } = {}) {
    const ticket = ++this.#ticket;
    await this.#session.ready;
    const pos = [];
    const neg = [];
    for (const [list, into] of [[positive, pos], [negative, neg]]) {
      for (const item of list) {
        const ref = typeof item === 'string' ? { kind: 'track', id: item } : await this.#embed(item, ticket);
        if (ticket !== this.#ticket) return null;
        into.push(ref);
      }
    }
    this.#refs.reset(pos, neg);
    return this.#steer('Finding songs like your references…');
  }

  /**
   * Adds a reference to "more like these" (`polarity` 'positive', the default) or "less like
   * that" ('negative'): a track id, or an audio File / Blob (analysed here first). The ranking
   * updates at once; resolves to the hits, or null when a newer search replaced it.
   */
  async addReference(item, polarity = 'positive') {
    const ticket = ++this.#ticket;
    await this.#session.ready;
    const ref = typeof item === 'string' ? { kind: 'track', id: item } : await this.#embed(item, ticket);
    if (ticket !== this.#ticket) return null;
    this.#refs.add(ref, polarity === 'negative' ? 'negative' : 'positive');
    return this.#steer('Updating the results…');
  }

  /** Takes a reference off the shortlist (a track id, or an entry of `references`); re-ranks. */
  async removeReference(item) {
    const ticket = ++this.#ticket;
    await this.#session.ready;
    if (ticket !== this.#ticket) return null;
    const all = [...this.#refs.positive, ...this.#refs.negative];
    const ref = typeof item === 'string' ? { kind: 'track', id: item }
      : all.find((r) => r === item || (r.kind === item?.kind && (r.kind === 'track' ? r.id === item.id : r.name === item.name)));
    if (!ref || !this.#refs.remove(ref)) return this.results;
    return this.#steer('Updating the results…');
  }

  /**
   * What the engine fetched and holds: `{ fetched, requests, rangeIgnored, wasmMemoryBytes,
   * heldBytes }` (bytes of catalog parts read from the network so far, HTTP requests, whether the
   * server ignored Range requests, the wasm memory, the bytes of codes and cached parts).
   */
  async networkStats() {
    await this.#session.ready;
    return this.#engine.request({ type: 'stats' });
  }

  /** Back to browsing (or an empty list): forgets the reference and cancels pending searches. */
  clear() {
    ++this.#ticket;
    this.#engine?.cancelQueries();
    this.#refs.reset();
    this.#emit('referenceschange', this.#refs.describe());
    this.#setReference(null);
    this.#hits = null;
    this.#setStatus(this.#readyText());
    this.#render();
  }

  /** Plays catalog track `id` from `startSeconds` with the built-in player (see `trackplay`). */
  play(id, startSeconds) {
    if (!this.#list.playTrack(id, startSeconds) && this.#tracks.has(id)) this.#play(this.#tracks.get(id), null, startSeconds);
  }

  // ---- loading (engine-session.js) -----------------------------------------------------

  get #engine() {
    return this.#session.client;
  }

  get #indexInfo() {
    return this.#session.indexInfo;
  }

  get #modelInfo() {
    return this.#session.modelInfo;
  }

  get #modelProblem() {
    return this.#session.modelProblem;
  }

  #start() {
    this.#session.start();
  }

  // What the session shows through the element (see engine-session.js).
  #sessionHost() {
    return {
      url: (attr) => this.#url(attr),
      status: (text, kind, since) => this.#setStatus(text, kind, since),
      progress: (text, progress, since) => this.#showProgress(text, progress, since),
      fail: (stage, message) => this.#fail(stage, message),
      emit: (type, detail) => this.#emit(type, detail),
      indexLoaded: (info) => this.#indexLoaded(info),
      modelReady: () => {
        this.#showWarning();
        this.#ui.drop.classList.toggle('disabled', Boolean(this.#modelProblem));
        if (this.#indexInfo && !this.#reference) this.#setStatus(this.#readyText());
      },
      modelUnavailable: () => {
        this.#ui.drop.classList.add('disabled');
        this.#showWarning();
      },
      ticket: () => this.#ticket,
    };
  }

  #url(attr) {
    const value = this.getAttribute(attr);
    if (!value) return null;
    const url = new URL(value, document.baseURI);
    // A published index may be named by its folder: its manifest is index.json inside.
    if (attr === 'index' && url.pathname.endsWith('/')) url.pathname += 'index.json';
    return url.href;
  }

  // A catalog is in (first load, another index, or a reload after a worker failure): show it,
  // then run what the attributes ask for.
  #indexLoaded(info) {
    this.#tracks = new Map();
    this.#browse = { rows: [], total: 0 };
    this.#filters.useIndex(info);
    this.#hits = null;
    this.#setReference(null);
    this.#setStatus(this.#readyText());
    this.#render();
    this.#emit('ready', { index: info, tracks: info.tracks });
    const track = this.getAttribute('track');
    if (this.hasAttribute('positive')) this.#searchFromAttributes();
    else if (track) this.searchByTrack(track).catch(() => {});
    else if (this.hasAttribute('browse')) this.#loadBrowse();
  }

  #showWarning() {
    showModelWarning(this.#ui, this.#modelInfo, this.#modelProblem);
  }

  #readyText() {
    return readyText(this.#indexInfo, this.#modelInfo, this.#modelProblem);
  }

  // ---- searching -----------------------------------------------------------------------

  #request() {
    const request = { k: this.k, excludeReferences: true, ...this.#refs.steering() };
    // Left out when empty: the engine reads an undefined field as a type error.
    const filter = this.#requestFilter();
    if (filter) request.filter = filter;
    return request;
  }

  // Tags and tempo, as the engine takes them (src/search/mod.rs TagFilter), or undefined.
  #requestFilter() {
    return this.#filters.request(this.#referenceBpm());
  }

  // The reference's tempo as the index stores tempi (whole BPM, when clear), or null.
  #referenceBpm() {
    const r = this.#reference;
    const min = this.#indexInfo?.tempo?.minConfidence;
    if (!r || min === undefined) return null;
    if (r.kind === 'track') return clearBpm(this.#tracks.get(r.id)?.tempo, min);
    return clearBpm(r.analysis?.tempo, min);
  }

  async #analyze(reference, message, transfer) {
    const ticket = this.#ticket;
    await this.#session.ready;
    if (ticket !== this.#ticket) return null;
    const refused = this.#session.analysisRefused;
    if (refused) {
      this.#fail('analysis', `Cannot analyse “${reference.name}”: ${refused}`);
      throw new Error(refused);
    }
    this.#emit('analysisstart', { name: reference.name });
    this.#refs.reset([reference]);
    this.#emit('referenceschange', this.#refs.describe());
    return this.#query(reference, message, transfer, `Analysing “${reference.name}”…`, true);
  }

  // Remembers tracks the worker sent, so that the reference panel and play() know them.
  #remember(track) {
    if (track?.id) this.#tracks.set(track.id, track);
    return track;
  }

  // Runs a query that supersedes every earlier one; renders its result unless it was superseded.
  async #query(reference, message, transfer, busyText, isAnalysis = false) {
    const started = performance.now();
    this.#setStatus(busyText, 'busy', started);
    let answer;
    try {
      answer = await this.#engine.query({ ...message, request: this.#request() }, transfer,
        (p) => this.#showProgress(busyText, p, started));
    } catch (e) {
      // Only the latest query can fail here: the client answers superseded ones with null.
      // searchByFile retries formats the Rust decoder does not know with the browser's decoder.
      if (isAnalysis && reference.kind === 'file' && isUnsupportedFormat(e.message)) throw e;
      const what = reference.kind === 'track' ? 'search' : 'analysis';
      const unknown = reference.kind === 'track' && /no track with id/.test(e.message);
      const text = unknown ? `there is no track "${reference.id}" in this catalog`
        : isAnalysis ? `Cannot analyse “${reference.name}”: ${e.message}` : `The search failed: ${e.message}`;
      this.#fail(what, text);
      throw new Error(text);
    }
    if (!answer) return null; // superseded
    if (answer.analysis) {
      reference.embedding = answer.analysis.embedding;
      this.#workerFile = reference;
    }
    if (answer.partEmbedding) reference.partEmbedding = answer.partEmbedding;
    this.#remember(answer.reference);
    this.#setReference(reference, answer.analysis);
    this.#hits = answer.hits.map((hit) => ({ ...hit, track: this.#remember(hit.track) || unavailable(hit) }));
    const ms = Math.round(performance.now() - started);
    const said = [...(answer.notes || []), this.#filters.tempoProblem].filter(Boolean);
    const notes = said.length ? ` ${said.join(' ')}` : '';
    this.#setStatus(`${this.#hits.length} similar song${this.#hits.length === 1 ? '' : 's'} (${ms} ms).${notes}`,
      notes ? 'warn' : 'info');
    this.#render();
    this.#emit('results', {
      reference: this.#referenceDetail(), hits: this.results, approximate: Boolean(answer.approximate), notes: answer.notes || [],
      fetchedBytes: answer.fetched ?? 0, searchMs: answer.engineMs ?? 0,
    });
    return this.results;
  }

  #rerun() {
    if (!this.#refs.primary) {
      this.#renderList();
      return;
    }
    ++this.#ticket;
    this.#steer('Updating the results…').catch(() => {});
  }

  // Searches with the whole shortlist: its first positive reference (as the worker knows it)
  // and the others as steering in the request. Without a positive one there is nothing to rank
  // by: the list goes back to the catalog and the status says what is missing.
  async #steer(busyText) {
    this.#emit('referenceschange', this.#refs.describe());
    const ref = this.#refs.primary;
    if (!ref) {
      this.#setReference(null);
      this.#hits = null;
      this.#loadBrowse();
      if (this.#refs.size) this.#setStatus('“Less like” needs a song to be more like: pick “Similar” or ＋ on a track you like.');
      return null;
    }
    let reference;
    if (ref.kind === 'track') reference = { track: ref.id };
    else if (ref === this.#workerFile) reference = { file: true, part: ref.part ?? undefined };
    else reference = { embedding: Array.from(ref.part ? ref.partEmbedding : ref.embedding) };
    return this.#query(ref, { type: 'search', reference }, [], busyText);
  }

  // The `positive` / `negative` attributes (track ids) as the shortlist.
  #searchFromAttributes() {
    if (!this.#indexInfo) return;
    const track = (id) => ({ kind: 'track', id });
    const positive = parseIds(this.getAttribute('positive')).map(track);
    const negative = parseIds(this.getAttribute('negative')).map(track);
    ++this.#ticket;
    this.#refs.reset(positive, negative);
    this.#steer(positive.length === 1 ? `Finding songs similar to “${this.#tracks.get(positive[0].id)?.title || positive[0].id}”…`
      : 'Finding songs like your references…').catch(() => {});
  }

  // Analyses a song to be added to the shortlist (no search); its reference, or null when a
  // newer search replaced the analysis. Formats the Rust decoder does not read are decoded by
  // the browser, as for searchByFile.
  async #embed(file, ticket) {
    const name = file.name || 'your file';
    const ref = { kind: 'file', name, blob: file };
    const busy = `Analysing “${name}”…`;
    const started = performance.now();
    this.#setStatus(busy, 'busy', started);
    const ask = (message, transfer) => this.#engine.query(message, transfer, (p) => this.#showProgress(busy, p, started));
    let answer;
    try {
      answer = await readSong(file, {
        isCurrent: () => ticket === this.#ticket,
        viaBytes: (bytes) => ask({ type: 'embedFile', bytes, name }, [bytes]),
        viaPcm: ({ samples, sampleRate, channels }) => {
          ref.decodedBy = 'browser';
          return ask({ type: 'embedPcm', samples, sampleRate, channels, name }, [samples.buffer]);
        },
      });
    } catch (e) {
      const text = e instanceof UnreadableFile ? e.message : `Cannot analyse “${name}”: ${e.message}`;
      this.#fail('analysis', text);
      throw new Error(text);
    }
    if (!answer || ticket !== this.#ticket) return null;
    ref.analysis = answer.analysis;
    ref.embedding = answer.analysis.embedding;
    this.#workerFile = ref;
    return ref;
  }

  // ＋ / − on a track: onto the shortlist with that polarity, or off it when it already is.
  #toggleReference(id, polarity) {
    const on = this.#refs.polarityOf(id) === polarity;
    (on ? this.removeReference(id) : this.addReference(id, polarity)).catch(() => {});
  }

  #filtersChanged() {
    this.#renderFilters();
    if (this.#reference) this.#rerun();
    else this.#loadBrowse();
  }

  // The first page (or, with `more`, the next page) of the catalog with the current filter.
  async #loadBrowse(more = false) {
    if (!this.#indexInfo || !this.hasAttribute('browse') || this.#reference) {
      this.#renderList();
      return;
    }
    const offset = more ? this.#browse.rows.length : 0;
    const started = performance.now();
    const filter = this.#requestFilter();
    let page;
    try {
      page = await this.#engine.query({ type: 'browse', filter, offset, limit: BROWSE_PAGE }, [],
        (p) => this.#showProgress('Loading the catalog list…', p, started));
    } catch (e) {
      this.#fail('search', `The catalog list could not be loaded: ${e.message}`);
      return;
    }
    if (!page) return; // superseded
    const rows = page.rows.map((r) => this.#remember(r.track) || unavailable({ position: r.position }));
    this.#browse = { rows: more ? this.#browse.rows.concat(rows) : rows, total: page.total };
    this.#setStatus(page.notes?.length ? page.notes.join(' ') : this.#readyText(), page.notes?.length ? 'warn' : 'info');
    this.#renderList();
  }


  #setReference(reference, analysis = null) {
    const old = this.#reference;
    if (old?.blobUrl && old !== reference) URL.revokeObjectURL(old.blobUrl);
    this.#reference = reference;
    if (reference && analysis) reference.analysis = analysis;
    if (reference?.blob) reference.blobUrl ||= URL.createObjectURL(reference.blob);
    const track = reference?.kind === 'track' ? this.#tracks.get(reference.id) || unavailable({ id: reference.id }) : null;
    showReference(this.#ui, reference, track);
    if (track && reference) this.#showTrackPicture(reference, track);
    // The "Similar tempo" switch depends on the reference's tempo.
    if (this.#indexInfo) this.#renderFilters();
    if (reference?.analysis) this.#parts.show(reference.analysis.durationSeconds, reference.part && { from: reference.part.start, to: reference.part.end });
    else this.#parts.hide();
    showSteering(this.#ui, this.#refs, (r) => (r.kind === 'track' ? this.#tracks.get(r.id)?.title || r.id : r.name),
      (r) => this.removeReference(r).catch(() => {}));
  }

  // A catalog reference's spectrogram, from its preview analysed in the worker (nothing about it
  // is stored in the index). A nicety: without a model or a preview, the panel goes without.
  async #showTrackPicture(reference, track) {
    const url = track.previewUrl ? new URL(track.previewUrl, this.#previewBase()).href : null;
    if (!url || !this.#modelInfo) return;
    const title = track.title || track.id;
    if (!this.#pictures.has(url)) reserveTrackPicture(this.#ui, title);
    const picture = await this.#pictures.get(url);
    if (this.#reference !== reference) return;
    // No picture (the preview failed, or a newer request took the worker's place): the panel
    // goes without, as it would without a model.
    if (picture) showTrackPicture(this.#ui, picture.mel, title);
    else this.#ui.mel.hidden = true;
  }

  #referenceDetail() {
    const r = this.#reference;
    if (!r) return null;
    if (r.kind === 'track') return { kind: 'track', id: r.id, track: this.#tracks.get(r.id) ?? null };
    const a = r.analysis;
    return {
      kind: r.kind,
      name: r.name,
      durationSeconds: a?.durationSeconds,
      analysisMs: a?.elapsedMs,
      engineMemoryBytes: a?.wasmMemoryBytes,
      tempo: a?.tempo ? { bpm: a.tempo.clear ? a.tempo.bpm : null, confidence: a.tempo.confidence } : null,
      part: r.part ?? null,
    };
  }

  // ---- rendering -----------------------------------------------------------------------

  #render() {
    this.#renderFilters();
    this.#renderList();
  }

  // The tag and tempo controls. A choice is written to the attributes (observers see it), and
  // attributeChangedCallback re-runs the search; unchanged attributes re-run it from here.
  #renderFilters() {
    if (!this.#indexInfo) return;
    const chose = (changed) => changed || this.#filtersChanged();
    this.#ui.filters.replaceChildren(...this.#filters.controls(this.#indexInfo, this.#referenceBpm(), {
      onTags: (category, values) => chose(this.#filters.choose(this, category, values)),
      onOutside: (on) => chose(this.#filters.chooseOutside(this, on)),
      onRange: (range) => {
        this.bpm = range;
      },
      onSimilar: (on) => {
        this.similarTempo = on;
      },
    }));
  }

  #renderList() {
    const browsing = !this.#hits && this.hasAttribute('browse');
    let rows = [];
    let title = '';
    if (this.#hits) {
      rows = this.#hits.filter((h) => h.track).map((hit) => ({ track: hit.track, hit }));
      title = this.#filters.outside ? 'Similar songs outside your tags' : 'Similar songs';
    } else if (browsing) {
      rows = this.#browse.rows.map((track) => ({ track, hit: null }));
      const count = this.#browse.total > rows.length ? ` (${rows.length} of ${this.#browse.total})` : '';
      title = (this.#filters.hasTags ? `Catalog, ${this.#filters.outside ? 'outside' : 'with'} the chosen tags` : 'Catalog') + count;
    }
    const empty = this.#hits || browsing ? this.#filters.emptyText(Boolean(this.#hits)) : null;
    const minConfidence = this.#indexInfo?.tempo?.minConfidence;
    this.#list.show(rows, {
      title,
      empty,
      more: browsing && this.#browse.total > rows.length,
      results: Boolean(this.#hits),
      bpmOf: (track) => (minConfidence === undefined ? null : clearBpm(track.tempo, minConfidence)),
      predictedCategories: this.#filters.predictedCategories,
    });
  }

  // ---- playback ------------------------------------------------------------------------

  #play(track, hit, start) {
    const startSeconds = start ?? hit?.bestSegmentSeconds ?? 0;
    const url = track.previewUrl ? new URL(track.previewUrl, this.#previewBase()).href : null;
    const go = this.#emit('trackplay', { track, hit, url, startSeconds }, true);
    if (!go || !url || this.getAttribute('player') === 'none') return;
    this.#player.start(url, startSeconds, track.id, `${track.title}${startSeconds ? ` — from ${formatDuration(startSeconds)}` : ''}`);
  }

  #previewBase() {
    const base = this.getAttribute('preview-base');
    return base ? new URL(base, document.baseURI).href : document.baseURI;
  }

  // ---- events and status ---------------------------------------------------------------

  #wire() {
    wireInputs(this, this.#ui, {
      onSong: (file) => this.searchByFile(file).catch(() => {}),
      onAddSong: (file) => this.addReference(file, 'positive').catch(() => {}),
      onClear: () => this.clear(),
      onMore: () => this.#loadBrowse(true),
      onPlayReference: () => {
        const r = this.#reference;
        if (r?.blobUrl) this.#player.start(r.blobUrl, 0, null, `${r.name} (your file)`);
      },
    });
  }

  #emit(type, detail, cancelable = false) {
    return this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true, cancelable }));
  }

  #fail(stage, message) {
    this.#setStatus(message, 'error');
    this.#emit('error', { stage, message });
  }

  // Progress of a load or a query (see status-line.js), also as a `progress` event.
  #showProgress(text, progress, since) {
    this.#emit('progress', this.#status.progress(text, progress, since));
  }

  // kind: 'info' | 'warn' (done, with a caveat) | 'busy' (indeterminate progress and a running clock) | 'error'
  #setStatus(text, kind = 'info', since = performance.now()) {
    this.#status.set(text, kind, since);
  }
}

// A part of a song as the worker takes it ({ start, end } seconds), or null for the whole.
function partOf(start, end) {
  if (start == null && end == null) return null;
  return { start: Number(start ?? 0), end: Number(end ?? Number.MAX_VALUE) };
}

// A row for a hit whose metadata shard could not be fetched (the search still ranked it).
function unavailable(hit) {
  return { id: hit.id || '', title: hit.id ? `${hit.id} (details unavailable)` : 'Track details unavailable', collection: '', tags: {}, predicted: {}, previewUrl: null };
}

if (!customElements.get('similar-songs')) customElements.define('similar-songs', SimilarSongsElement);

// <similar-songs>: similar-song search over a catalog index, in a custom element.
//
//   <script type="module" src="/simsong/www/similar-songs.js"></script>
//   <similar-songs index="/catalog/index.json" model="/simsong.nnef.tar" k="10" browse></similar-songs>
//
// The wasm engine and the index live in a Web Worker (engine-worker.js); this file only renders.
// Attributes, events, CSS properties and the JS API are documented in README.md ("The widget")
// and typed in similar-songs.d.ts.
import { EngineSession } from './engine-session.js';
import { formatDuration } from './tags.js';
import { SearchFilter } from './search-filter.js';
import { readyText, showModelWarning, skeleton, wireInputs } from './similar-songs-view.js';
import { ReferencePanel } from './reference-panel.js';
import { CatalogBrowse } from './catalog-browse.js';
import { TrackList, unavailableTrack } from './track-list.js';
import { parseIds } from './references.js';
import { SearchFlow, UNCHANGED } from './search-flow.js';
import { PreviewPlayer } from './preview-player.js';
import { StatusLine } from './status-line.js';
import { PartSelector } from './part-select.js';
import { clearBpm, formatBpm } from './tempo-filter.js';
import { MAX_K } from './limits.js';
import { ErrorCode, errorToWire, Message } from './protocol.js';

const CSS_URL = new URL('./similar-songs.css', import.meta.url).href;

export class SimilarSongsElement extends HTMLElement {
  static observedAttributes = ['index', 'model', 'k', 'versions', 'filter', 'outside', 'bpm', 'similar-tempo', 'track', 'positive', 'negative', 'browse'];

  #session; // the worker with the index and the model (engine-session.js)
  #ui = null;
  #started = false;
  #tracks = new Map(); // id → track: every track seen so far (browse pages, results, references)
  #browse = new CatalogBrowse(); // the catalog pages shown while browsing (catalog-browse.js)
  #filters = new SearchFilter(); // tags, outside, tempo range, similar tempo (search-filter.js)
  #panel = null; // the reference shown and the shortlist's chips (reference-panel.js)
  #flow = new SearchFlow(this.#flowHost()); // the shortlist, and which search wins (search-flow.js)
  #hits = null; // null: browsing
  #list = null; // the rows shown, their selection and keyboard (track-list.js)
  #player = null;
  #status = null; // the status line (status-line.js)
  #parts = null; // the part-of-song selector on the spectrogram (part-select.js)

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
        polarityOf: (id) => this.#flow.refs.polarityOf(id),
        choose: (track, hit) => this.#emit('trackchoose', { track, hit }),
      });
      this.#status = new StatusLine(this.#ui, this);
      // Choosing a part of a dropped song on its spectrogram (part-select.js).
      this.#parts = new PartSelector(this.#ui.mel, (from, to) => this.searchByPart(from, to).catch(() => {}));
      this.#parts.mount();
      this.#panel = new ReferencePanel(this.#ui, this.#parts, {
        request: (message) => this.#engine.request(message),
        trackOf: (id) => this.#tracks.get(id),
        previewUrl: (track) => (track.previewUrl ? new URL(track.previewUrl, this.#previewBase()).href : null),
        hasModel: () => Boolean(this.#modelInfo),
        remove: (ref) => this.removeReference(ref).catch(() => {}),
      });
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
    else if (name === 'model') this.#session.modelChanged();
    else if (name === 'filter' || name === 'outside') {
      this.#filters.readTags(this);
      this.#filtersChanged();
    } else if (name === 'bpm' || name === 'similar-tempo') {
      this.#filters.readTempo(this);
      this.#filtersChanged();
    } else if (name === 'track' && value) this.searchByTrack(value).catch(() => {});
    else if (name === 'positive' || name === 'negative') this.#searchFromAttributes();
    else if (name === 'k' || name === 'versions') this.#rerun();
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
    return this.#hits?.map((h) => ({ ...h })) ?? null;
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
    return Number.isFinite(k) && k >= 1 ? Math.min(k, MAX_K) : 10;
  }

  set k(value) {
    this.setAttribute('k', String(value));
  }
  /**
   * How a song's versions (cut-downs, loops, re-encodings) show: `'group'` (the default: one row
   * per song, "+N versions" under its best match) or `'separate'` (a row each).
   */
  get versions() {
    return this.getAttribute('versions') === 'separate' ? 'separate' : 'group';
  }

  set versions(value) {
    this.setAttribute('versions', value === 'separate' ? 'separate' : 'group');
  }

  // The searches (typed and documented in similar-songs.d.ts); each resolves to the hits, or
  // null when a newer search replaced it. The flow (search-flow.js) runs them; this renders.
  searchByTrack(id) {
    return this.#shown(this.#flow.byTrack(String(id)));
  }

  searchByFile(file, { start, end } = {}) {
    return this.#shown(this.#flow.byFile(file, start, end));
  }

  searchByPart(start, end) {
    return this.#shown(this.#flow.byPart(start, end));
  }

  searchByPcm(samples, sampleRate, channels, name = 'audio') {
    return this.#shown(this.#flow.byPcm(samples, sampleRate, channels, name));
  }

  /** The shortlist: `{ positive, negative }`; the first positive one is the reference shown. */
  get references() {
    return this.#flow.refs.describe();
  }

  searchByReferences({ positive = [], negative = [] } = {}) {
    return this.#shown(this.#flow.byReferences(positive, negative));
  }

  addReference(item, polarity = 'positive') {
    return this.#shown(this.#flow.add(item, polarity));
  }

  removeReference(item) {
    return this.#shown(this.#flow.remove(item));
  }

  // Renders a search's outcome (search-flow.js): its results, or the catalog again when the
  // shortlist has nothing to rank by; resolves to the hits shown (null: superseded).
  async #shown(pending) {
    const outcome = await pending;
    if (outcome === UNCHANGED) return this.results;
    if (!outcome) return null;
    if (outcome.noReference) {
      this.#setReference(null);
      this.#hits = null;
      this.#loadBrowse();
      if (outcome.shortlisted) this.#setStatus('“Less like” needs a song to be more like: pick “Similar” or ＋ on a track you like.');
      return null;
    }
    return this.#showAnswer(outcome);
  }

  /**
   * Loads the song analyser (the analysis module and the model) now, as the element does itself
   * when a file is dragged over it, its file chooser opens or a song is searched by. Resolves to
   * the model's info, or null when songs cannot be analysed (the warning says why). Called
   * before the element is connected, it loads once the element starts.
   */
  prepareAnalysis() {
    return this.#session.prepareAnalysis();
  }

  /**
   * What the engine fetched and holds: `{ fetched, requests, rangeIgnored, wasmMemoryBytes,
   * heldBytes }` (bytes of catalog parts read from the network so far, HTTP requests, whether the
   * server ignored Range requests, the wasm memory, the bytes of codes and cached parts).
   */
  async networkStats() {
    await this.#session.ready;
    return this.#engine.request({ type: Message.STATS });
  }

  /** Back to browsing (or an empty list): forgets the reference and cancels pending searches. */
  clear() {
    this.#flow.supersede();
    this.#engine?.cancelQueries();
    this.#flow.refs.reset();
    this.#emit('referenceschange', this.#flow.refs.describe());
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
      fail: (stage, message, error) => this.#fail(stage, message, error),
      emit: (type, detail) => this.#emit(type, detail),
      indexLoaded: (info) => this.#indexLoaded(info),
      indexCompleted: (info) => this.#indexCompleted(info),
      // The analyser's bytes, shown while a song waits for it (else only the `progress` event).
      modelProgress: (p, since) => {
        if (this.hasAttribute('busy')) this.#showProgress('Loading the song analyser…', p, since);
        else this.#emit('progress', { stage: p.stage, fraction: null, loaded: p.loaded, total: p.total ?? null });
      },
      modelReady: () => {
        this.#showWarning();
        this.#ui.drop.classList.toggle('disabled', Boolean(this.#modelProblem));
        if (this.#indexInfo && !this.#reference && !this.hasAttribute('busy')) this.#setStatus(this.#readyText());
      },
      modelUnavailable: () => {
        this.#ui.drop.classList.add('disabled');
        this.#showWarning();
      },
      ticket: () => this.#flow.ticket,
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
    this.#browse.reset();
    this.#filters.useIndex(info);
    this.#hits = null;
    this.#setReference(null);
    this.#setStatus(this.#readyText());
    this.#showWarning();
    this.#render();
    this.#emit('ready', { index: info, tracks: info.tracks });
    if (info.complete) this.#emit('indexcomplete', { index: info, tracks: info.tracks });
    const track = this.getAttribute('track');
    if (this.hasAttribute('positive')) this.#searchFromAttributes();
    else if (track) this.searchByTrack(track).catch(() => {});
    else if (this.hasAttribute('browse')) this.#loadBrowse();
  }

  // The rest of an index answered from its manifest arrived: the tag and tempo filters can be
  // offered now; hits, reference and status stay.
  #indexCompleted(info) {
    this.#filters.useIndex(info);
    this.#render();
    this.#emit('indexcomplete', { index: info, tracks: info.tracks });
  }

  #showWarning() {
    // Before the model is loaded, the index says which model built it.
    const header = this.#indexInfo?.header;
    const model = this.#modelInfo?.model ?? (header && { name: header.modelName, trained: header.modelTrained });
    showModelWarning(this.#ui, model, this.#modelProblem);
  }

  #readyText() {
    return readyText(this.#indexInfo, this.#modelInfo, this.#modelProblem);
  }

  // ---- searching -----------------------------------------------------------------------

  // Tags and tempo, as the engine takes them (src/search/mod.rs TagFilter), or undefined.
  #requestFilter() {
    return this.#filters.request(this.#referenceBpm());
  }

  // The reference's tempo as the index stores tempi (whole BPM, when clear), or null.
  #referenceBpm() {
    return this.#panel.bpm(this.#indexInfo?.tempo);
  }

  // Remembers tracks the worker sent, so that the reference panel and play() know them.
  #remember(track) {
    if (track?.id) this.#tracks.set(track.id, track);
    return track;
  }

  // What the search flow shows through the element (see search-flow.js).
  #flowHost() {
    const element = this;
    return {
      get session() {
        return element.#session;
      },
      request: () => {
        // The filter is left out when empty: the engine reads an undefined field as a type error.
        const filter = this.#requestFilter();
        const request = { k: this.k, groupVersions: this.versions === 'group' };
        return filter ? { ...request, filter } : request;
      },
      busy: (text) => {
        const since = performance.now();
        this.#setStatus(text, 'busy', since);
        return since;
      },
      progress: (text, p, since) => this.#showProgress(text, p, since),
      fail: (stage, text, error) => this.#fail(stage, text, error),
      emit: (type, detail) => this.#emit(type, detail),
      titleOf: (id) => this.#tracks.get(id)?.title || id,
    };
  }

  // A search's answer: the reference in the panel, the hits in the list, and the `results` event.
  #showAnswer({ reference, answer, since }) {
    this.#remember(answer.reference);
    this.#setReference(reference, answer.analysis);
    this.#hits = answer.hits.map((hit) => ({ ...hit, track: this.#remember(hit.track) || unavailableTrack(hit) }));
    const ms = Math.round(performance.now() - since);
    const said = [...(answer.notes || []), this.#filters.tempoProblem].filter(Boolean);
    const notes = said.length ? ` ${said.join(' ')}` : '';
    this.#setStatus(`${this.#hits.length} similar song${this.#hits.length === 1 ? '' : 's'} (${ms} ms).${notes}`, notes ? 'warn' : 'info');
    this.#render();
    this.#emit('results', {
      reference: this.#panel.detail(),
      hits: this.results,
      approximate: Boolean(answer.approximate),
      notes: answer.notes || [],
      fetchedBytes: answer.fetched ?? 0,
      searchMs: answer.engineMs ?? 0,
      fromNeighbours: Boolean(answer.fromNeighbours),
    });
    return this.results;
  }

  #rerun() {
    const pending = this.#flow.rerun();
    if (pending) this.#shown(pending).catch(() => {});
    else this.#renderList();
  }

  // The `positive` / `negative` attributes (track ids) as the shortlist.
  #searchFromAttributes() {
    if (!this.#indexInfo) return;
    this.#shown(this.#flow.byIds(parseIds(this.getAttribute('positive')), parseIds(this.getAttribute('negative')))).catch(() => {});
  }

  // ＋ / − on a track: onto the shortlist with that polarity, or off it when it already is.
  #toggleReference(id, polarity) {
    const on = this.#flow.refs.polarityOf(id) === polarity;
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
    const started = performance.now();
    let notes;
    try {
      notes = await this.#browse.load(this.#engine, this.#requestFilter(), more, {
        onProgress: (p) => this.#showProgress('Loading the catalog list…', p, started),
        remember: (track) => this.#remember(track),
      });
    } catch (e) {
      this.#fail('search', `The catalog list could not be loaded: ${e.message}`, e);
      return;
    }
    if (!notes) return; // superseded
    this.#setStatus(notes.length ? notes.join(' ') : this.#readyText(), notes.length ? 'warn' : 'info');
    this.#renderList();
  }

  // Shows `reference` in the panel; the "Similar tempo" switch depends on its tempo.
  #setReference(reference, analysis = null) {
    this.#panel.show(reference, analysis, this.#flow.refs);
    if (this.#indexInfo) this.#renderFilters();
  }

  get #reference() {
    return this.#panel?.current ?? null;
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
    this.#ui.filters.replaceChildren(
      ...this.#filters.controls(this.#indexInfo, this.#referenceBpm(), {
        onTags: (category, values) => chose(this.#filters.choose(this, category, values)),
        onOutside: (on) => chose(this.#filters.chooseOutside(this, on)),
        onRange: (range) => {
          this.bpm = range;
        },
        onSimilar: (on) => {
          this.similarTempo = on;
        },
      }),
    );
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
      title = this.#browse.title(this.#filters);
    }
    const empty = this.#hits || browsing ? this.#filters.emptyText(Boolean(this.#hits)) : null;
    const indexTempo = this.#indexInfo?.tempo;
    this.#list.show(rows, {
      title,
      empty,
      more: browsing && this.#browse.more,
      results: Boolean(this.#hits),
      bpmOf: (track) => clearBpm(track.tempo, indexTempo),
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
      onIntent: () => this.#session.prepareAnalysis(),
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

  // `error`: what failed, for its code and details (ErrorCode in protocol.js; `internal` when
  // it carries none).
  #fail(stage, message, error = null) {
    this.#setStatus(message, 'error');
    const { code, details } = errorToWire(error ?? { code: ErrorCode.INTERNAL });
    this.#emit('error', { stage, message, code, details });
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

if (!customElements.get('similar-songs')) customElements.define('similar-songs', SimilarSongsElement);

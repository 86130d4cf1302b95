// What the element searches for, and which search wins: the shortlist (references.js), sent
// whole with every search (the worker holds the analysed songs by id), and a ticket taken by
// every search, so that the last one asked for wins even when an earlier one's set-up (reading a
// file, waiting for the index) is slower. No DOM: every search resolves to its outcome, which the
// element (similar-songs.js) renders: `{ reference, answer, since }` (results), `{ noReference,
// shortlisted }` (nothing to rank by), UNCHANGED, or null (a newer search superseded it). While
// it runs, the host shows status and progress, and failures.
import { ErrorCode, errorToWire, hasCode, Message, SimsongError } from './protocol.js';
import { ReferenceSet } from './references.js';
import { analyzeSong, readSong } from './song-file.js';
import { formatDuration } from './tags.js';

/** The outcome of a change that changed nothing (a reference removed that was not there). */
export const UNCHANGED = Symbol('unchanged');

export class SearchFlow {
  /** The shortlist that steers the ranking; its first positive reference is the one shown. */
  refs = new ReferenceSet();
  #ticket = 0;
  #host;

  /**
   * `host`: { session (engine-session.js), request() → { k, filter? } (the request's own fields),
   * busy(text) → the start time it shows, progress(text, progress, since), fail(stage, text, error),
   * emit(type, detail), titleOf(id) }.
   */
  constructor(host) {
    this.#host = host;
  }

  /** The current ticket: a search that took an older one has been superseded. */
  get ticket() {
    return this.#ticket;
  }

  /** Supersedes every search in flight (they resolve to null). */
  supersede() {
    return ++this.#ticket;
  }

  /** Like catalog track `id`. */
  async byTrack(id) {
    const ticket = ++this.#ticket;
    await this.#host.session.ready;
    if (ticket !== this.#ticket) return null;
    this.refs.reset([{ kind: 'track', id }]);
    return this.#steer(`Finding songs similar to “${this.#host.titleOf(id)}”…`);
  }

  /** Like an audio file; with `start` / `end` (seconds), like that part of it only. */
  async byFile(file, start, end) {
    const ticket = ++this.#ticket;
    const part = partOf(start, end);
    const name = file.name || 'your file';
    const reference = { kind: 'file', name, blob: file, part };
    try {
      return await readSong(file, {
        isCurrent: () => ticket === this.#ticket,
        viaBytes: (bytes) => this.#analyze(reference, { type: Message.ANALYZE_FILE, bytes, name, part }, [bytes]),
        viaPcm: ({ samples, sampleRate, channels }) =>
          this.#analyze({ ...reference, decodedBy: 'browser' }, { type: Message.ANALYZE_PCM, samples, sampleRate, channels, name, part }, [samples.buffer]),
      });
    } catch (e) {
      if (hasCode(e, ErrorCode.UNREADABLE_FILE)) this.#host.fail('analysis', e.message, e);
      throw e;
    }
  }

  /** Like the part from `start` to `end` seconds of the buyer's song shown (no `start`: the whole). */
  byPart(start, end) {
    const ref = this.refs.primary;
    if (!ref?.analysis) {
      const error = new SimsongError(ErrorCode.NO_REFERENCE, 'a part can only be chosen of a song of yours: drop or choose one first');
      this.#host.fail('search', `Cannot search by a part: ${error.message}`, error);
      return Promise.reject(error);
    }
    ++this.#ticket;
    const part = partOf(start, end ?? ref.analysis.durationSeconds);
    ref.part = part;
    const what = part ? `${formatDuration(part.start)}–${formatDuration(part.end)} of “${ref.name}”` : `“${ref.name}”`;
    return this.#steer(`Finding songs like ${what}…`);
  }

  /** Like interleaved PCM samples (full scale ±1); the samples are copied. */
  byPcm(samples, sampleRate, channels, name) {
    const copy = Float32Array.from(samples);
    ++this.#ticket;
    return this.#analyze({ kind: 'pcm', name }, { type: Message.ANALYZE_PCM, samples: copy, sampleRate, channels, name }, [copy.buffer]);
  }

  /** Like all of `positive` and unlike `negative` (track ids, or Files / Blobs analysed first). */
  async byReferences(positive, negative) {
    const ticket = ++this.#ticket;
    await this.#host.session.ready;
    const pos = [];
    const neg = [];
    for (const [list, into] of [
      [positive, pos],
      [negative, neg],
    ]) {
      for (const item of list) {
        const ref = await this.#reference(item, ticket);
        if (ticket !== this.#ticket) return null;
        into.push(ref);
      }
    }
    this.refs.reset(pos, neg);
    return this.#steer('Finding songs like your references…');
  }

  /** The shortlist of track ids (the `positive` / `negative` attributes). */
  byIds(positiveIds, negativeIds) {
    const track = (id) => ({ kind: 'track', id });
    ++this.#ticket;
    this.refs.reset(positiveIds.map(track), negativeIds.map(track));
    return this.#steer(positiveIds.length === 1 ? `Finding songs similar to “${this.#host.titleOf(positiveIds[0])}”…` : 'Finding songs like your references…');
  }

  /** Adds a track id or a File / Blob to one side of the shortlist; re-ranks. */
  async add(item, polarity) {
    const ticket = ++this.#ticket;
    await this.#host.session.ready;
    const ref = await this.#reference(item, ticket);
    if (ticket !== this.#ticket) return null;
    this.refs.add(ref, polarity === 'negative' ? 'negative' : 'positive');
    return this.#steer('Updating the results…');
  }

  /** Takes a track id or a shortlist entry off; re-ranks. Resolves to UNCHANGED when it was not on. */
  async remove(item) {
    const ticket = ++this.#ticket;
    await this.#host.session.ready;
    if (ticket !== this.#ticket) return null;
    const all = [...this.refs.positive, ...this.refs.negative];
    const ref = typeof item === 'string' ? { kind: 'track', id: item } : all.find((r) => r === item || (r.kind === item?.kind && (r.kind === 'track' ? r.id === item.id : r.name === item.name)));
    if (!ref || !this.refs.remove(ref)) return UNCHANGED;
    return this.#steer('Updating the results…');
  }

  /** The same shortlist again (k or the filter changed); null when there is nothing to re-run. */
  rerun() {
    if (!this.refs.primary) return null;
    ++this.#ticket;
    return this.#steer('Updating the results…');
  }

  // A track id as a reference, or a song analysed for the shortlist (null when superseded).
  async #reference(item, ticket) {
    if (typeof item === 'string') return { kind: 'track', id: item };
    this.#host.session.prepareAnalysis();
    const busy = `Analysing “${item.name || 'your file'}”…`;
    const since = this.#host.busy(busy);
    let ref;
    try {
      ref = await analyzeSong(item, {
        isCurrent: () => ticket === this.#ticket,
        ask: (message, transfer) => this.#host.session.client.query(message, transfer, (p) => this.#host.progress(busy, p, since)),
      });
    } catch (e) {
      this.#host.fail('analysis', e.message, e);
      throw e;
    }
    return ref;
  }

  async #analyze(reference, message, transfer) {
    const ticket = this.#ticket;
    this.#host.session.prepareAnalysis();
    await this.#host.session.ready;
    if (ticket !== this.#ticket) return null;
    const refused = this.#host.session.analysisRefused;
    if (refused) {
      this.#host.fail('analysis', `Cannot analyse “${reference.name}”: ${refused.message}`, refused);
      throw refused;
    }
    this.#host.emit('analysisstart', { name: reference.name });
    this.refs.reset([reference]);
    this.#host.emit('referenceschange', this.refs.describe());
    return this.#query(reference, message, transfer, `Analysing “${reference.name}”…`, true);
  }

  // Searches with the whole shortlist. Without a positive reference there is nothing to rank
  // by: the element goes back to the catalog and says what is missing.
  async #steer(busyText) {
    this.#host.emit('referenceschange', this.refs.describe());
    const ref = this.refs.primary;
    if (!ref) return { noReference: true, shortlisted: this.refs.size > 0 };
    return this.#query(ref, { type: Message.SEARCH, ...this.refs.shortlist() }, [], busyText);
  }

  // Runs a query that supersedes every earlier one; resolves to its outcome (null when a newer
  // one superseded it: the engine client answers those with null).
  async #query(reference, message, transfer, busyText, isAnalysis = false) {
    const since = this.#host.busy(busyText);
    const request = { ...this.#host.request(), excludeReferences: true };
    const ask = (m) => this.#host.session.client.query({ ...m, request }, transfer, (p) => this.#host.progress(busyText, p, since));
    let answer;
    try {
      try {
        answer = await ask(message);
      } catch (e) {
        // A fresh worker (the last one failed) holds none of the analysed songs: search by
        // their embeddings instead, which the page kept.
        if (message.type !== Message.SEARCH || !hasCode(e, ErrorCode.NO_ANALYSIS)) throw e;
        answer = await ask({ type: Message.SEARCH, ...this.refs.shortlist(true) });
      }
    } catch (e) {
      // byFile retries formats the Rust decoder does not know with the browser's decoder.
      if (isAnalysis && reference.kind === 'file' && hasCode(e, ErrorCode.UNSUPPORTED_FORMAT)) throw e;
      const what = reference.kind === 'track' ? 'search' : 'analysis';
      const unknown = reference.kind === 'track' && hasCode(e, ErrorCode.UNKNOWN_TRACK);
      const text = unknown ? `there is no track "${reference.id}" in this catalog` : isAnalysis ? `Cannot analyse “${reference.name}”: ${e.message}` : `The search failed: ${e.message}`;
      const error = new SimsongError(errorToWire(e).code, text, e.details ?? {});
      this.#host.fail(what, text, error);
      throw error;
    }
    if (!answer) return null;
    if (answer.analysis) {
      reference.analysisId = answer.analysis.id;
      reference.embedding = answer.analysis.embedding;
    }
    for (const ref of [...this.refs.positive, ...this.refs.negative]) {
      const part = answer.partEmbeddings?.[ref.analysisId];
      if (part) ref.partEmbedding = part;
    }
    return { reference, answer, since };
  }
}

// A part of a song as the worker takes it ({ start, end } seconds), or null for the whole.
function partOf(start, end) {
  if (start == null && end == null) return null;
  return { start: Number(start ?? 0), end: Number(end ?? Number.MAX_VALUE) };
}

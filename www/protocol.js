// The one protocol between the page (engine-client.js) and the engine worker (engine-worker.js):
// the messages, their answers and the errors that cross. Both sides import this module; a
// message type or an error code is named here and nowhere else.
//
// Set-up, page → worker (no answer):
//   engine { build, module }          first: the compiled search module (null: the worker
//                                     compiles it itself) and the analysis build this browser runs
//   manifest { url, bytes }           the page's own fetch of a published index's index.json
//                                     (ArrayBuffer, or null when it failed: the worker fetches it)
//   cancel { gen }                    queries older than gen become stale
//
// Requests, page → worker: { id, type, gen?, ...fields } (a `gen` makes it a query: a newer
// query supersedes it). The fields, and what the answer adds to { id, gen, ok: true }:
//   loadIndex { url, prefetched? }    → { info, fetched, fromCache, rangeIgnored }: answered from
//                                       the manifest alone (info.complete false)
//   completeIndex                     → { info }: the rest of the index, loaded once the worker
//                                       has been idle for a second (info.complete true)
//   loadModel { url }                 → { info, indexMismatch: { code, message, details } | null }:
//                                       the analysis module and the model
//   search { positive, negative, request }
//                                     → { hits, approximate, notes, reranked, fetched, engineMs,
//                                       reference?, partEmbeddings? }: the whole shortlist, each
//                                       reference { track } | { analysis: id, part? } (a song
//                                       the worker analysed, or its part { start, end } seconds)
//                                       | { embedding }; `reference`: the first positive one's
//                                       track details when it is a catalog track;
//                                       `partEmbeddings`: analysis id → the part's embedding
//   analyzeFile { bytes, name, request, part? } | analyzePcm { samples, sampleRate, channels,
//     name, request, part? }          → { analysis, ...the search's answer }: the song analysed
//                                       (kept by the worker as analysis.id) and searched by
//   embedFile { bytes, name } | embedPcm { samples, sampleRate, channels, name }
//                                     → { analysis }: a song analysed for the shortlist, no search
//   browse { filter, offset, limit }  → { total, rows: [{ position, track }], notes }
//   lookup { ids }                    → { rows: [{ position, track } | null] }
//   overview { url }                  → { mel, durationSeconds }: a catalog track's preview
//                                       analysed for its spectrogram (a newer one stops it)
//   stats                             → { fetched, fromCache, requests, wasmMemoryBytes,
//                                       heldBytes, rangeIgnored }
//
// Answers, worker → page: { id, gen, ok: true, ... } | { id, gen, ok: false, error, fatal } |
// { id, gen, superseded: true }, and before them any number of { id, gen?, progress }:
// { stage: 'index' | 'search' | 'browse' | 'lookup' | 'model', loaded, total } bytes while
// parts download, { stage: 'decode' | 'analysis', fraction } (0..1, null when the file's length
// is unknown) while a song is analysed. `error` is { code, message, details } (ErrorCode below);
// `fatal` marks a trap inside wasm: the worker's state cannot be trusted and the client
// replaces it.

/** The request and set-up message types. */
export const Message = Object.freeze({
  ENGINE: 'engine',
  MANIFEST: 'manifest',
  CANCEL: 'cancel',
  LOAD_INDEX: 'loadIndex',
  COMPLETE_INDEX: 'completeIndex',
  LOAD_MODEL: 'loadModel',
  SEARCH: 'search',
  ANALYZE_FILE: 'analyzeFile',
  ANALYZE_PCM: 'analyzePcm',
  EMBED_FILE: 'embedFile',
  EMBED_PCM: 'embedPcm',
  BROWSE: 'browse',
  LOOKUP: 'lookup',
  OVERVIEW: 'overview',
  STATS: 'stats',
});

/**
 * Every error code a page can see, in an `error` event's `detail.code` or on a rejected
 * promise's error. The first group comes from the engine (Rust's `Error::code`, `Error::CODES`
 * in src/error.rs); the rest from the bindings, the worker and the page.
 * Codes are never renamed, only added.
 */
export const ErrorCode = Object.freeze({
  // The engine (src/error.rs).
  EMPTY_INPUT: 'empty-input',
  UNSUPPORTED_FORMAT: 'unsupported-format',
  CORRUPT_AUDIO: 'corrupt-audio',
  NO_AUDIO: 'no-audio',
  SILENT: 'silent',
  ABSURD_AUDIO: 'absurd-audio',
  NON_FINITE_SAMPLES: 'non-finite-samples',
  RESAMPLE: 'resample',
  INVALID_PARAMS: 'invalid-params',
  PARAMS_MISMATCH: 'params-mismatch',
  INVALID_MODEL: 'invalid-model',
  INFERENCE: 'inference',
  INVALID_INDEX: 'invalid-index',
  INDEX_VERSION: 'index-version',
  INDEX_MODEL_MISMATCH: 'index-model-mismatch',
  INDEX_PART: 'index-part',
  PART_NOT_LOADED: 'part-not-loaded',
  UNKNOWN_TRACK: 'unknown-track',
  INVALID_QUERY: 'invalid-query',
  CATALOG: 'catalog',
  IO: 'io',
  // The wasm bindings: an argument of the wrong shape.
  INVALID_ARGUMENT: 'invalid-argument',
  // The worker.
  NETWORK: 'network', // a fetch failed: details { url, status? }
  STALLED: 'stalled', // an answer stopped arriving: details { url, seconds }
  TRUNCATED: 'truncated', // the connection closed early: details { url, received, expected }
  NO_SIMD: 'no-simd', // the browser lacks WebAssembly SIMD
  NO_INDEX: 'no-index', // a search before any index was loaded
  NO_ANALYSIS: 'no-analysis', // a search by "the song analysed last" before any was
  ANALYSIS_OFF: 'analysis-off', // no model was given: songs cannot be analysed
  ENGINE_CRASHED: 'engine-crashed', // a trap inside wasm (fatal: the worker is replaced)
  UNKNOWN_MESSAGE: 'unknown-message',
  // The page.
  MODEL_LOADING: 'model-loading', // the analyser is still loading (not an error: a state)
  WORKER_FAILED: 'worker-failed', // the worker died; what was pending is rejected with this
  WORKER_STOPPED: 'worker-stopped', // the element was removed, or restarts were given up
  UNREADABLE_FILE: 'unreadable-file', // neither the engine's decoder nor the browser's reads it
  NO_REFERENCE: 'no-reference', // e.g. a part asked of a song that is not the buyer's
  INTERNAL: 'internal', // anything else (a bug): the message says what
});

const KNOWN_CODES = new Set(Object.values(ErrorCode));

/** An error with a stable `code` (ErrorCode) and `details` (the fields it names). */
export class SimsongError extends Error {
  /**
   * @param {string} code one of ErrorCode
   * @param {string} message for people
   * @param {object} [details] for programs
   */
  constructor(code, message, details = {}) {
    super(message);
    this.name = 'SimsongError';
    this.code = code;
    this.details = details;
  }

  /** The error as it crosses postMessage, and as an `error` event's detail carries it. */
  toJSON() {
    return { code: this.code, message: this.message, details: this.details };
  }
}

/**
 * Any thrown value as `{ code, message, details }`: an engine error (the wasm bindings set
 * `code` and `details`), a SimsongError, or anything else as `internal`.
 */
export function errorToWire(e) {
  const message = String(e?.message ?? e);
  const code = typeof e?.code === 'string' && KNOWN_CODES.has(e.code) ? e.code : ErrorCode.INTERNAL;
  const details = e?.details && typeof e.details === 'object' ? { ...e.details } : {};
  return { code, message, details };
}

/** The SimsongError an answer's `error` stands for (also an older worker's plain string). */
export function errorFromWire(error) {
  if (typeof error === 'string' || !error) return new SimsongError(ErrorCode.INTERNAL, String(error ?? 'unknown error'));
  return new SimsongError(KNOWN_CODES.has(error.code) ? error.code : ErrorCode.INTERNAL, String(error.message), error.details ?? {});
}

/** Whether `e` (any thrown value) carries `code`. */
export const hasCode = (e, code) => e?.code === code;

// The worker's answers, built in one place.
export const answerOk = (id, gen, fields) => ({ id, gen, ok: true, ...fields });
export const answerFailed = (id, gen, error, fatal = false) => ({ id, gen, ok: false, error: errorToWire(error), fatal });
export const answerSuperseded = (id, gen) => ({ id, gen, superseded: true });
export const answerProgress = (id, gen, progress) => ({ id, gen, progress });

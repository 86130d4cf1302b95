// Types of the <similar-songs> element (www/similar-songs.js). Hand-written; the wasm engine's
// own types are in pkg/simsong.d.ts (export "simsong/engine").

/** A catalog track, as the index holds it. All text is untrusted: render it as text. */
export interface Track {
  id: string;
  title: string;
  collection: string | null;
  composer: string | null;
  /** Catalog tags: category → values. */
  tags: Record<string, string[]>;
  /** Tags the model predicted from the audio (e.g. instrument): category → values. */
  predicted: Record<string, string[]>;
  durationSeconds: number;
  /** Relative URLs resolve against the element's `preview-base` (default: the page). */
  previewUrl: string | null;
  license: string | null;
  attribution: string | null;
  /**
   * The tempo the engine predicted from the audio (never a catalog tag): `bpm` and its
   * `confidence` (0–1; it counts as a tempo from `indexInfo.tempo.minConfidence`). Null for tracks
   * indexed without audio.
   */
  tempo: { bpm: number; confidence: number } | null;
}

/** One search result. */
export interface Hit {
  /** The track's id; empty when its metadata shard could not be fetched (see `notes`). */
  id: string;
  /** Index position of the track. */
  position: number;
  /** Cosine similarity of the track embeddings (1 = same sound). */
  score: number;
  /** Start of the track's segment that best matches the reference, in seconds (null when its segments could not be fetched). */
  bestSegmentSeconds: number | null;
  bestSegmentScore: number | null;
  /** The track (a placeholder titled "… details unavailable" when its shard could not be fetched). */
  track: Track;
  /**
   * The other versions of this song the search found (cut-downs, loops, re-encodings), best
   * first, folded under this, its best match: present when `versions="group"` (the default) and
   * the song has versions among the results.
   */
  versions?: VersionHit[];
}

/** A version of a result's song, folded under it ("+N versions"). */
export interface VersionHit {
  /** The track's id; empty when its metadata could not be fetched. */
  id: string;
  /** Index position of the track. */
  position: number;
  /** Cosine similarity with the reference. */
  score: number;
  title: string | null;
  /** Its length, in seconds. */
  durationSeconds: number | null;
}

export type Reference =
  | { kind: 'track'; id: string; track: Track | null }
  | {
      kind: 'file' | 'pcm';
      name: string;
      /** Length of the analysed audio, in seconds. */
      durationSeconds: number;
      /** Time the worker spent analysing it, in milliseconds. */
      analysisMs: number;
      /** Size of the engine's wasm memory afterwards, in bytes (it never shrinks: the peak so far). */
      engineMemoryBytes: number;
      /** The part searched by ({ start, end } seconds), or null for the whole song. */
      part: { start: number; end: number } | null;
      /**
       * Its predicted tempo: `bpm` in beats per minute, or null when there is no clear tempo
       * (noise, free time, a held chord, under 5 s); `confidence` 0–1 (a tempo is named from 0.10).
       */
      tempo: { bpm: number | null; confidence: number } | null;
    };

/** What the published index's manifest and parts say about it. */
export interface IndexInfo {
  header: { modelName: string; modelSha256: string; modelTrained: boolean; embeddingDim: number; indexId: string; [key: string]: unknown };
  /** Tracks that can be found (added minus removed). */
  tracks: number;
  /** Positions over all generations (removed tracks included). */
  positions: number;
  /** The base plus one per delta (`simsong index add/remove`). */
  generations: number;
  layout: { codeBytes: number; centroids: number; rerankBlockRows: number; metaShardTracks: number };
  /** category → value → number of tracks. */
  tags: Record<string, Record<string, number>>;
  predictedTags: Record<string, Record<string, number>>;
  /** Bytes of every kind of part on the server: search, rerank, segments, meta, ids, neighbours. */
  partBytes: Record<string, number>;
  /**
   * The predicted tempi: the confidence from which one counts, how many live tracks have a clear
   * one, their range in whole BPM, and the range an index can store (minBpm, maxBpm).
   */
  tempo: { minConfidence: number; tracks: number; slowestBpm: number; fastestBpm: number; minBpm: number; maxBpm: number };
  /**
   * False until the whole index is in (searches run before it, on the pieces they fetch):
   * `tags`, `predictedTags` and `tempo` are empty until the `indexcomplete` event brings them.
   */
  complete: boolean;
}

/** What the engine fetched and holds (`networkStats()`). */
export interface NetworkStats {
  /** Bytes of catalog parts read from the network so far. */
  fetched: number;
  /** Bytes of whole parts found in the browser's Cache Storage instead (a returning visitor). */
  fromCache: number;
  /** HTTP requests for catalog parts so far. */
  requests: number;
  /** True once the server answered a Range request with the whole file. */
  rangeIgnored: boolean;
  /** Size of the engine's wasm memory, in bytes (it never shrinks). */
  wasmMemoryBytes: number;
  /** Bytes of codes, posting lists and cached parts in the engine. */
  heldBytes: number;
}

export interface ModelInfo {
  model: { name: string; trained: boolean; embedding_dim: number; heads: { output: string; classes: string[] }[]; [key: string]: unknown };
  modelSha256: string;
  analysis: Record<string, number>;
  /**
   * Which build of the engine this browser runs: `relaxed-simd` (fused multiply-add kernels), or
   * `simd128` where the browser lacks relaxed SIMD (the element then says so in its status).
   */
  engineBuild: 'relaxed-simd' | 'simd128';
}

/** The `progress` event's detail. */
export interface ProgressDetail {
  stage: 'decode' | 'analysis' | 'index' | 'search' | 'browse' | 'lookup' | 'model';
  /** Done of this stage, 0..1, or null when unknown. */
  fraction: number | null;
  /** Bytes received so far (part downloads only, else null). */
  loaded: number | null;
  /** Bytes expected (part downloads only, else null). */
  total: number | null;
}

/** One reference of the shortlist: a catalog track, or a song analysed in the page. */
export type ShortlistEntry = { kind: 'track'; id: string } | { kind: 'file' | 'pcm'; name: string };

/** The shortlist that steers the ranking: more like all of `positive`, less like `negative`. */
export interface References {
  /** The first one is the reference the element shows. */
  positive: ShortlistEntry[];
  negative: ShortlistEntry[];
}

export interface SimilarSongsEventMap {
  /**
   * The index is loaded: track searches work. `tracks`: how many. With neighbour lists this comes
   * after the manifest alone (`index.complete` false); the rest of the index follows when the page is
   * idle.
   */
  ready: CustomEvent<{ index: IndexInfo; tracks: number }>;
  /** The whole index is in (`index.complete` true): tag and tempo filters can be offered. */
  indexcomplete: CustomEvent<{ index: IndexInfo; tracks: number }>;
  /**
   * The song analyser (the analysis module and the model) is loaded: files and PCM can be
   * analysed. It loads only once a visitor starts to bring a song (a file dragged over the
   * element, its file chooser, a search by file or PCM) or `prepareAnalysis()` asks for it.
   */
  modelready: CustomEvent<{ model: ModelInfo }>;
  /** A file or PCM analysis started (in the worker). */
  analysisstart: CustomEvent<{ name: string }>;
  /**
   * Work in progress, several times a second: a file's analysis (`decode`: reading the audio and
   * its log-mel patches; `analysis`: the model on the patches) with `fraction` done of that
   * stage, or catalog parts arriving for a load or a search (`index`, `search`, `browse`,
   * `lookup`) with `loaded` of `total` bytes, or the song analyser and the model arriving
   * (`model`: `loaded` bytes, `total` null when the server compresses them). `fraction` is null
   * when the length is unknown.
   */
  progress: CustomEvent<ProgressDetail>;
  /**
   * A new result list is shown (never one of a superseded search). `notes` say what could not
   * be fetched and what that cost; `approximate` when some scores come from the compact codes
   * only. `fetchedBytes`: what this search downloaded; `searchMs`: its time in the engine;
   * `fromNeighbours`: answered from the reference's precomputed neighbour list (no codes read).
   */
  results: CustomEvent<{ reference: Reference; hits: Hit[]; approximate: boolean; notes: string[]; fetchedBytes: number; searchMs: number; fromNeighbours: boolean }>;
  /** The buyer selected a track in the list (click, or arrow keys). */
  trackchoose: CustomEvent<{ track: Track; hit: Hit | null }>;
  /** A preview is about to play; cancelable: preventDefault() stops the built-in player. */
  trackplay: CustomEvent<{ track: Track; hit: Hit | null; url: string | null; startSeconds: number }>;
  /**
   * Something failed; `message` is for people, `code` (stable, see {@link ErrorCode}) and
   * `details` for programs. `worker`: the analysis worker died (it is restarted).
   */
  error: CustomEvent<{ stage: 'index' | 'model' | 'analysis' | 'search' | 'worker'; message: string; code: ErrorCode; details: ErrorDetails }>;
  /** The analysis worker failed and a fresh one has reloaded the index and model. */
  workerrestart: CustomEvent<{ reason: string }>;
  /** The shortlist changed (＋ / − on a row, a removed reference, a new search, the API). */
  referenceschange: CustomEvent<References>;
}

/**
 * `<similar-songs index="catalog/index.json" model="simsong.nnef.tar" k="10" versions="group" filter="game:Lugaru" outside
 *   bpm="90-110" similar-tempo track="id" positive="id id" negative="id" browse player="none" preview-base="/">`
 */
export class SimilarSongsElement extends HTMLElement {
  /** Resolves once the index is loaded. */
  readonly ready: Promise<void>;
  /** Number of tracks in the catalog (0 until ready). */
  readonly trackCount: number;
  /** The tracks loaded so far (catalog pages, results, references), not the whole catalog. */
  readonly tracks: Track[];
  readonly indexInfo: IndexInfo | null;
  readonly modelInfo: ModelInfo | null;
  /** The current results, or null while browsing the catalog. */
  readonly results: Hit[] | null;
  /** The tag filter in the attribute's syntax, `"category:value;category:value"`. */
  filter: string;
  /**
   * The tempo range on the predicted tempo, in BPM (a bound null when open), or null; set it to
   * an object, to `"90-110"` / `"90-"` / `"-110"`, or to null. The `bpm` attribute. Tracks without
   * a clear tempo are left out while it is set. Combines with the tags; `outside` inverts the tags only.
   */
  bpm: { min: number | null; max: number | null } | null;
  /**
   * Only tempi within 8% of the reference's, its double or its half (the `similar-tempo`
   * attribute). Ignored while the reference has no clear tempo.
   */
  similarTempo: boolean;
  /** Number of results (1-1000, default 10). */
  k: number;
  /** How a song's versions show: one row per song with "+N versions" (`'group'`, the default) or a row each (`'separate'`). */
  versions: 'group' | 'separate';
  /** The shortlist that steers the ranking. */
  readonly references: References;

  /** Songs similar to catalog track `id`; null if a newer search superseded this one. */
  searchByTrack(id: string): Promise<Hit[] | null>;
  /**
   * Songs similar to an audio file (MP3, Ogg Vorbis, FLAC, WAV, AAC/M4A; others via the
   * browser's decoder); with `start` / `end` (seconds), similar to that part of it only.
   */
  searchByFile(file: Blob & { name?: string }, part?: { start?: number; end?: number }): Promise<Hit[] | null>;
  /**
   * Songs like the part from `start` to `end` seconds of the song shown as the reference (a file
   * or PCM); without arguments, like the whole song again. Rejects when the reference is a
   * catalog track, or the part is empty, reversed or after the end.
   */
  searchByPart(start?: number | null, end?: number): Promise<Hit[] | null>;
  /** Songs similar to interleaved PCM samples (full scale ±1). */
  searchByPcm(samples: Float32Array | ArrayLike<number>, sampleRate: number, channels: number, name?: string): Promise<Hit[] | null>;
  /**
   * Songs like all of `positive` and unlike `negative`: track ids, or audio files analysed in the
   * page (at most 50 a side). Replaces the shortlist; null if a newer search superseded this one.
   */
  searchByReferences(references: { positive?: Array<string | Blob>; negative?: Array<string | Blob> }): Promise<Hit[] | null>;
  /** Adds a track id or an audio file to "more like these" (default) or "less like that"; re-ranks. */
  addReference(reference: string | Blob, polarity?: 'positive' | 'negative'): Promise<Hit[] | null>;
  /** Takes a track id or a `references` entry off the shortlist; re-ranks (back to browsing when no positive one is left). */
  removeReference(reference: string | ShortlistEntry): Promise<Hit[] | null>;
  /**
   * Loads the song analyser (the analysis module and the model) now, as the element does itself
   * once a visitor starts to bring a song; resolves to the model's info, or null when songs
   * cannot be analysed (the element's warning says why).
   */
  prepareAnalysis(): Promise<ModelInfo | null>;
  /** What the engine fetched and holds. */
  networkStats(): Promise<NetworkStats>;
  /** Back to browsing; cancels pending searches (a running file analysis stops within a step). */
  clear(): void;
  /** Plays track `id` (from `startSeconds`, default its best-matching segment) or asks the store's player via `trackplay`. */
  play(id: string, startSeconds?: number): void;

  addEventListener<K extends keyof SimilarSongsEventMap>(type: K, listener: (this: SimilarSongsElement, ev: SimilarSongsEventMap[K]) => unknown, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof SimilarSongsEventMap>(type: K, listener: (this: SimilarSongsElement, ev: SimilarSongsEventMap[K]) => unknown, options?: boolean | EventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | EventListenerOptions): void;
}

declare global {
  interface HTMLElementTagNameMap {
    'similar-songs': SimilarSongsElement;
  }
}

/**
 * What failed, as a program can branch on it: the `code` of an `error` event, and of the errors
 * the element's methods reject with (`www/protocol.js` `ErrorCode`; never renamed, only added).
 * The engine's own (Rust's `Error::code`):
 * - `'empty-input'`, `'unsupported-format'` (the browser's decoder is tried next), `'corrupt-audio'`,
 *   `'no-audio'`, `'silent'` (details `peakDbfs`), `'absurd-audio'` (rate, channels or length out
 *   of range), `'non-finite-samples'` (`count`, `first`), `'resample'`: the song's audio;
 * - `'invalid-params'`, `'params-mismatch'` (`what`, `expected`, `found`), `'invalid-model'`,
 *   `'inference'`: the model;
 * - `'invalid-index'`, `'index-version'` (`found`, `supported`), `'index-model-mismatch'`
 *   (`indexModel`, `loadedModel`), `'index-part'` (`part`: damaged, from another build, or not
 *   fetched), `'part-not-loaded'` (`part`), `'unknown-track'` (`id`), `'invalid-query'`: the catalog
 *   and the search;
 * - `'catalog'`, `'io'`: native only (manifests and files on disk).
 * The bindings' and the page's:
 * - `'invalid-argument'`: a call the engine cannot read (a bug in the caller);
 * - `'network'` (`url`, `status`), `'stalled'` (`url`, `seconds`), `'truncated'` (`url`,
 *   `received`, `expected`): fetching the engine, the model or the catalog;
 * - `'no-simd'`: the browser lacks WebAssembly SIMD;
 * - `'no-index'`, `'no-analysis'`, `'analysis-off'` (no `model` attribute), `'model-loading'`,
 *   `'unreadable-file'` (`name`: neither decoder reads it), `'no-reference'`;
 * - `'engine-crashed'`, `'worker-failed'` (`reason`), `'worker-stopped'`, `'unknown-message'`,
 *   `'internal'` (a bug: the message says what).
 */
export type ErrorCode =
  | 'empty-input'
  | 'unsupported-format'
  | 'corrupt-audio'
  | 'no-audio'
  | 'silent'
  | 'absurd-audio'
  | 'non-finite-samples'
  | 'resample'
  | 'invalid-params'
  | 'params-mismatch'
  | 'invalid-model'
  | 'inference'
  | 'invalid-index'
  | 'index-version'
  | 'index-model-mismatch'
  | 'index-part'
  | 'part-not-loaded'
  | 'unknown-track'
  | 'invalid-query'
  | 'catalog'
  | 'io'
  | 'invalid-argument'
  | 'network'
  | 'stalled'
  | 'truncated'
  | 'no-simd'
  | 'no-index'
  | 'no-analysis'
  | 'analysis-off'
  | 'engine-crashed'
  | 'unknown-message'
  | 'model-loading'
  | 'worker-failed'
  | 'worker-stopped'
  | 'unreadable-file'
  | 'no-reference'
  | 'internal';

/** The fields an error names (see {@link ErrorCode}), by name. */
export type ErrorDetails = Record<string, string | number | null>;

/** The errors the element's methods reject with. */
export interface SimsongError extends Error {
  code: ErrorCode;
  details: ErrorDetails;
}

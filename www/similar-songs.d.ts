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
}

/** One search result. */
export interface Hit {
  id: string;
  /** Index position of the track. */
  position: number;
  /** Cosine similarity of the track embeddings (1 = same sound). */
  score: number;
  /** Start of the track's segment that best matches the reference, in seconds. */
  bestSegmentSeconds: number;
  bestSegmentScore: number;
  track: Track;
}

export type Reference =
  | { kind: 'track'; id: string; track: Track }
  | {
      kind: 'file' | 'pcm';
      name: string;
      /** Length of the analysed audio, in seconds. */
      durationSeconds: number;
      /** Time the worker spent analysing it, in milliseconds. */
      analysisMs: number;
      /** Size of the engine's wasm memory afterwards, in bytes (it never shrinks: the peak so far). */
      engineMemoryBytes: number;
    };

export interface IndexInfo {
  header: { modelName: string; modelSha256: string; modelTrained: boolean; embeddingDim: number; [key: string]: unknown };
  tracks: number;
  segments: number;
  precision: string;
  /** category → value → number of tracks. */
  tags: Record<string, Record<string, number>>;
  predictedTags: Record<string, Record<string, number>>;
}

export interface ModelInfo {
  model: { name: string; trained: boolean; embedding_dim: number; heads: { output: string; classes: string[] }[]; [key: string]: unknown };
  modelSha256: string;
  analysis: Record<string, number>;
}

export interface SimilarSongsEventMap {
  /** The index is loaded: track searches work. */
  ready: CustomEvent<{ index: IndexInfo; tracks: Track[] }>;
  /** The model is loaded: files and PCM can be analysed. */
  modelready: CustomEvent<{ model: ModelInfo }>;
  /** A file or PCM analysis started (in the worker). */
  analysisstart: CustomEvent<{ name: string }>;
  /** A new result list is shown (never one of a superseded search). */
  results: CustomEvent<{ reference: Reference; hits: Hit[] }>;
  /** The buyer selected a track in the list (click, or arrow keys). */
  trackchoose: CustomEvent<{ track: Track; hit: Hit | null }>;
  /** A preview is about to play; cancelable: preventDefault() stops the built-in player. */
  trackplay: CustomEvent<{ track: Track; hit: Hit | null; url: string | null; startSeconds: number }>;
  /** Something failed; `message` is readable. `worker`: the analysis worker died (it is restarted). */
  error: CustomEvent<{ stage: 'index' | 'model' | 'analysis' | 'search' | 'worker'; message: string }>;
  /** The analysis worker failed and a fresh one has reloaded the index and model. */
  workerrestart: CustomEvent<{ reason: string }>;
}

/**
 * `<similar-songs index="catalog.idx" model="simsong.onnx" k="10" filter="game:Lugaru" outside
 *   track="id" browse player="none" preview-base="/">`
 */
export class SimilarSongsElement extends HTMLElement {
  /** Resolves once the index is loaded. */
  readonly ready: Promise<void>;
  readonly tracks: Track[];
  readonly indexInfo: IndexInfo | null;
  readonly modelInfo: ModelInfo | null;
  /** The current results, or null while browsing the catalog. */
  readonly results: Hit[] | null;
  /** The tag filter in the attribute's syntax, `"category:value;category:value"`. */
  filter: string;
  /** Number of results (1-1000, default 10). */
  k: number;

  /** Songs similar to catalog track `id`; null if a newer search superseded this one. */
  searchByTrack(id: string): Promise<Hit[] | null>;
  /** Songs similar to an audio file (MP3, Ogg Vorbis, FLAC, WAV, AAC/M4A; others via the browser's decoder). */
  searchByFile(file: Blob & { name?: string }): Promise<Hit[] | null>;
  /** Songs similar to interleaved PCM samples (full scale ±1). */
  searchByPcm(samples: Float32Array | ArrayLike<number>, sampleRate: number, channels: number, name?: string): Promise<Hit[] | null>;
  /** Back to browsing; cancels pending searches. */
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

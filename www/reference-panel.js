// The reference panel: the song the results are "similar to" (a catalog track with the
// spectrogram of its preview, or a song of the buyer's with its analysis and the part selector),
// and the shortlist's other references under it. It owns what the shown reference holds on to:
// the blob URL of a dropped file (revoked when another reference replaces it) and the catalog
// pictures (track-picture.js). Drawing is similar-songs-view.js's.
import { reserveTrackPicture, showReference, showSteering, showTrackPicture } from './similar-songs-view.js';
import { clearBpm } from './tempo-filter.js';
import { TrackPictures } from './track-picture.js';
import { unavailableTrack } from './track-list.js';

export class ReferencePanel {
  #ui;
  #parts;
  #pictures;
  #host;
  #current = null;

  /**
   * `ui`: the skeleton's parts; `parts`: the PartSelector on the spectrogram; `host`:
   * { request(message) (the engine client's), trackOf(id) → track | undefined,
   * previewUrl(track) → absolute URL | null, hasModel() → boolean, remove(ref) (a chip's ✕) }.
   */
  constructor(ui, parts, host) {
    this.#ui = ui;
    this.#parts = parts;
    this.#host = host;
    this.#pictures = new TrackPictures((message) => host.request(message));
  }

  /**
   * The reference shown, or null: `{ kind: 'track', id }`, or an analysed song
   * `{ kind: 'file' | 'pcm', name, analysis, part, blob?, blobUrl? }` (a file's blob URL is
   * what the panel's play button plays).
   */
  get current() {
    return this.#current;
  }

  /**
   * Shows `reference` (null: the panel hides), with `analysis` (the worker's, for a song of the
   * buyer's) kept on it, and the shortlist `refs` (references.js) as chips.
   */
  show(reference, analysis, refs) {
    const old = this.#current;
    if (old?.blobUrl && old !== reference) URL.revokeObjectURL(old.blobUrl);
    this.#current = reference;
    if (reference && analysis) reference.analysis = analysis;
    if (reference?.blob) reference.blobUrl ||= URL.createObjectURL(reference.blob);
    const track = reference?.kind === 'track' ? this.#host.trackOf(reference.id) || unavailableTrack({ id: reference.id }) : null;
    showReference(this.#ui, reference, track);
    if (track) this.#showTrackPicture(reference, track);
    const analysed = reference?.analysis;
    if (analysed) this.#parts.show(analysed.durationSeconds, reference.part && { from: reference.part.start, to: reference.part.end });
    else this.#parts.hide();
    showSteering(
      this.#ui,
      refs,
      (r) => (r.kind === 'track' ? this.#host.trackOf(r.id)?.title || r.id : r.name),
      (r) => this.#host.remove(r),
    );
  }

  /** The reference as the `results` event and `results` carry it (README, "Events"), or null. */
  detail() {
    const r = this.#current;
    if (!r) return null;
    if (r.kind === 'track') return { kind: 'track', id: r.id, track: this.#host.trackOf(r.id) ?? null };
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

  /**
   * The reference's tempo as the index stores tempi (whole BPM, when its confidence reaches the
   * index's), or null; null too without the index info's `tempo` (`indexTempo` undefined).
   */
  bpm(indexTempo) {
    const r = this.#current;
    if (!r || !indexTempo) return null;
    if (r.kind === 'track') return clearBpm(this.#host.trackOf(r.id)?.tempo, indexTempo);
    return clearBpm(r.analysis?.tempo, indexTempo);
  }

  // A catalog reference's spectrogram, from its preview analysed in the worker (nothing about it
  // is stored in the index). A nicety: without a model or a preview, the panel goes without.
  async #showTrackPicture(reference, track) {
    const url = this.#host.previewUrl(track);
    if (!url || !this.#host.hasModel()) return;
    const title = track.title || track.id;
    if (!this.#pictures.has(url)) reserveTrackPicture(this.#ui, title);
    const picture = await this.#pictures.get(url);
    if (this.#current !== reference) return;
    // No picture (the preview failed, or a newer request took the worker's place): the panel
    // goes without, as it would without a model.
    if (picture) showTrackPicture(this.#ui, picture.mel, title);
    else this.#ui.mel.hidden = true;
  }
}

// The songs the engine worker analysed, by id: the wasm Analysis objects stay in the worker and
// the page's shortlist names them (`{ analysis: id, part? }`, protocol.js), so that an analysis
// crosses postMessage once, as its summary, and never comes back.
import { ErrorCode, SimsongError } from './protocol.js';

/**
 * More than a shortlist holds (references.js MAX_REFERENCES) are never needed; beyond this the
 * oldest is freed, and a search naming it is refused (`no-analysis`: the page then sends the
 * embeddings it kept).
 */
export const ANALYSES_KEPT = 64;

export class AnalysisStore {
  #analyses = new Map(); // id → Analysis, oldest first
  #nextId = 1;

  /** Keeps the wasm Analysis `a`; returns its id. */
  keep(a) {
    const id = this.#nextId++;
    this.#analyses.set(id, a);
    for (const [old, oldest] of this.#analyses) {
      if (this.#analyses.size <= ANALYSES_KEPT) break;
      oldest.free();
      this.#analyses.delete(old);
    }
    return id;
  }

  /**
   * A shortlist's references as the search module takes them: `{ track }` and `{ embedding }` as
   * they are, `{ analysis: id, part? }` as the embedding of that song (the whole, or the mean of
   * its segments within `part` { start, end } seconds, see src/embed/excerpt.rs), checked against
   * the `index`'s model. `partEmbeddings` gets each part's embedding by analysis id, for the page
   * to fall back on.
   */
  references(index, refs, partEmbeddings) {
    return (refs ?? []).map((ref) => {
      if (ref.analysis == null) return ref;
      const a = this.#analyses.get(ref.analysis);
      if (!a) throw new SimsongError(ErrorCode.NO_ANALYSIS, 'this song’s analysis is no longer held: analyse it again', { analysis: ref.analysis });
      // The analysis comes from the other wasm module: the index checks that its model built it.
      index.checkModelHash(a.modelSha256, a.modelName);
      if (!ref.part) return { embedding: Array.from(a.embedding) };
      const part = a.embeddingBetween(ref.part.start, ref.part.end);
      partEmbeddings[ref.analysis] = part;
      return { embedding: Array.from(part) };
    });
  }
}

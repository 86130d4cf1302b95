// The buyer's shortlist: "more like these" (positive) and "less like that" (negative)
// references, which steer the ranking (the engine's query is mean(positive) − w·mean(negative),
// see src/search/mod.rs). A reference is a catalog track `{ kind: 'track', id }` or an analysed
// song `{ kind: 'file' | 'pcm', name, analysisId, embedding, part? }` (the worker holds its
// analysis by id; `part`: { start, end } seconds of it searched by). The first positive one is the reference the
// element shows (its picture, its facts); the others are listed in the reference panel.
//
// Pure data, no DOM: the element (similar-songs.js) renders it and asks the worker to search.

/** Most references a search takes on each side (peers allow up to 50). */
export const MAX_REFERENCES = 50;

/** Identity of a reference: the track id, or the analysed song itself. */
const same = (a, b) => a === b || (a.kind === 'track' && b.kind === 'track' && a.id === b.id);

export class ReferenceSet {
  positive = [];
  negative = [];

  /** The reference shown as "similar to": the first positive one, or null. */
  get primary() {
    return this.positive[0] ?? null;
  }

  get size() {
    return this.positive.length + this.negative.length;
  }

  /** Starts over from `refs` (positive), as "Similar" or a dropped song does. */
  reset(positive = [], negative = []) {
    this.positive = positive.slice(0, MAX_REFERENCES);
    this.negative = negative.slice(0, MAX_REFERENCES);
  }

  /**
   * Adds `ref` to one side (`'positive'` or `'negative'`), taking it off the other; false when
   * nothing changed (already there) or that side is full.
   */
  add(ref, polarity) {
    const [to, from] = polarity === 'negative' ? [this.negative, this.positive] : [this.positive, this.negative];
    if (to.some((r) => same(r, ref))) return false;
    if (to.length >= MAX_REFERENCES) return false;
    const i = from.findIndex((r) => same(r, ref));
    if (i >= 0) from.splice(i, 1);
    to.push(ref);
    return true;
  }

  /** Removes `ref` from whichever side holds it; false when it was not there. */
  remove(ref) {
    for (const side of [this.positive, this.negative]) {
      const i = side.findIndex((r) => same(r, ref));
      if (i >= 0) {
        side.splice(i, 1);
        return true;
      }
    }
    return false;
  }

  /** `'positive'`, `'negative'` or null: where track `id` is. */
  polarityOf(id) {
    if (this.positive.some((r) => r.kind === 'track' && r.id === id)) return 'positive';
    if (this.negative.some((r) => r.kind === 'track' && r.id === id)) return 'negative';
    return null;
  }

  /**
   * The whole shortlist as the worker's `search` takes it (protocol.js): `{ positive: [{ track }
   * | { analysis, part? }], negative: [...] }`; with `byEmbedding`, analysed songs as their
   * `{ embedding }` instead (a fresh worker no longer holds their analyses).
   */
  shortlist(byEmbedding = false) {
    const form = (ref) => engineForm(ref, byEmbedding);
    return { positive: this.positive.map(form), negative: this.negative.map(form) };
  }

  /** What the element's `referenceschange` event and `references` property say. */
  describe() {
    const plain = (r) => (r.kind === 'track' ? { kind: 'track', id: r.id } : { kind: r.kind, name: r.name });
    return { positive: this.positive.map(plain), negative: this.negative.map(plain) };
  }

  /** The track ids of one side, space-separated (the `positive` / `negative` attributes). */
  trackIds(polarity) {
    return (polarity === 'negative' ? this.negative : this.positive).filter((r) => r.kind === 'track').map((r) => r.id);
  }
}

function engineForm(ref, byEmbedding) {
  if (ref.kind === 'track') return { track: ref.id };
  // (A plain array: the engine reads the embedding as a sequence of numbers.)
  if (byEmbedding || ref.analysisId == null) return { embedding: Array.from(ref.part && ref.partEmbedding ? ref.partEmbedding : ref.embedding) };
  return ref.part ? { analysis: ref.analysisId, part: ref.part } : { analysis: ref.analysisId };
}

/** Track ids from an attribute or URL value: separated by spaces or commas, duplicates dropped. */
export function parseIds(text) {
  return [
    ...new Set(
      String(text ?? '')
        .split(/[\s,]+/)
        .filter(Boolean),
    ),
  ].slice(0, MAX_REFERENCES);
}

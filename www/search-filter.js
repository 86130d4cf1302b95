// What narrows a search or the catalog list in <similar-songs>: catalog and predicted tags (with
// "outside these tags"), a tempo range and "similar tempo". The element's attributes hold the
// truth (`filter`, `outside`, `bpm`, `similar-tempo`), so that a store's script and the controls
// agree; this keeps them parsed, turns them into the engine's `filter` and draws the controls.
import { formatFilter, isEmpty, parseFilter, requestFilter } from './tags.js';
import { filterControls } from './similar-songs-view.js';
import { parseBpm, tempoControls, tempoRequest } from './tempo-filter.js';

export class SearchFilter {
  /** Category → Set of tag values (tags.js). */
  tags = {};
  /** Results outside the chosen tags instead of within them. */
  outside = false;
  /** `{ min, max }` in BPM (a bound null when open), or null: no tempo range. */
  bpm = null;
  /** Only tempi like the reference's (its half and double too). */
  similarTempo = false;
  /** Why the `bpm` attribute is ignored ('' when it is not), shown with every result. */
  tempoProblem = '';
  /** Categories the catalog predicts but does not tag itself: filtered on the predictions. */
  predictedCategories = new Set();

  /** Reads `filter`, `outside`, `bpm` and `similar-tempo` from element `el`. */
  readAttributes(el) {
    this.readTags(el);
    this.readTempo(el);
  }

  readTags(el) {
    this.tags = parseFilter(el.getAttribute('filter'));
    this.outside = el.hasAttribute('outside');
  }

  readTempo(el) {
    const text = el.getAttribute('bpm');
    this.bpm = parseBpm(text);
    this.tempoProblem = text && !this.bpm ? `The tempo range “${text}” is not a BPM range such as 90-110; it is ignored.` : '';
    this.similarTempo = el.hasAttribute('similar-tempo');
  }

  /** Learns from a loaded index which categories are predicted only. */
  useIndex(info) {
    const tagged = new Set(Object.keys(info.tags || {}));
    this.predictedCategories = new Set(Object.keys(info.predictedTags || {}).filter((c) => !tagged.has(c)));
  }

  get hasTags() {
    return !isEmpty(this.tags);
  }

  get hasTempo() {
    return Boolean(this.bpm || this.similarTempo);
  }

  /** The filter text (the `filter` attribute's form). */
  get text() {
    return formatFilter(this.tags);
  }

  /**
   * The request's `filter` as the engine takes it (src/search/mod.rs TagFilter), or undefined
   * when nothing narrows; `referenceBpm`: the reference's clear tempo, or null.
   */
  request(referenceBpm) {
    const filter = requestFilter(this.tags, this.outside, this.predictedCategories);
    const tempo = tempoRequest(this.bpm, this.similarTempo, referenceBpm);
    return tempo ? { ...filter, tempo } : filter;
  }

  /**
   * Chooses `values` of `category` (none: no condition on it) and writes the tags to `el`'s
   * attributes; without tags "outside" goes off. Returns whether the attributes changed (if
   * they did, the element hears of it through attributeChangedCallback).
   */
  choose(el, category, values) {
    this.tags = { ...this.tags, [category]: new Set(values) };
    if (isEmpty(this.tags)) this.outside = false;
    return this.writeTags(el);
  }

  /** Sets "outside these tags" and writes it to `el`; whether the attributes changed. */
  chooseOutside(el, on) {
    this.outside = on;
    return this.writeTags(el);
  }

  writeTags(el) {
    const text = formatFilter(this.tags);
    const changed = text !== (el.getAttribute('filter') || '') || this.outside !== el.hasAttribute('outside');
    el.toggleAttribute('outside', this.outside);
    el.setAttribute('filter', text);
    return changed;
  }

  /**
   * The filter controls for index `info`: a tag list per category (catalog tags, then the
   * predicted-only ones) and, when the index has tempi, the tempo controls. `handlers`:
   * `{ onTags(category, values), onOutside(on), onRange(range), onSimilar(on) }`.
   */
  controls(info, referenceBpm, { onTags, onOutside, onRange, onSimilar }) {
    const categories = [
      ...Object.entries(info.tags || {}).map(([name, counts]) => ({ name, counts, predicted: false })),
      ...Object.entries(info.predictedTags || {})
        .filter(([name]) => this.predictedCategories.has(name))
        .map(([name, counts]) => ({ name, counts, predicted: true })),
    ];
    const tempo = tempoControls(info.tempo, this.bpm, this.similarTempo, referenceBpm, { onRange, onSimilar });
    return [...filterControls(categories, this.tags, this.outside, { onChange: onTags, onOutside }), ...(tempo ? [tempo] : [])];
  }

  /** What an empty list says: of results (`results`), or of the catalog list. */
  emptyText(results) {
    if (results) {
      return this.hasTempo ? 'No similar songs with these tags and tempi. Try a wider tempo range or fewer tags.' : 'No similar songs with these tags. Try “Outside these tags” or fewer tags.';
    }
    return this.hasTempo ? 'No tracks carry all the chosen tags at these tempi.' : 'No tracks carry all the chosen tags.';
  }
}

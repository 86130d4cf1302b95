// Browsing: the catalog list shown while there is no reference, with the current filter. A
// catalog may hold hundreds of thousands of tracks, so pages are fetched as asked ("More").
import { unavailableTrack } from './track-list.js';
import { Message } from './protocol.js';

/** Tracks per page. */
export const BROWSE_PAGE = 100;

export class CatalogBrowse {
  /** The tracks of the pages fetched so far, in catalog order. */
  rows = [];
  /** Tracks in the catalog with the current filter. */
  total = 0;

  /** Forgets the pages (another index). */
  reset() {
    this.rows = [];
    this.total = 0;
  }

  /**
   * Fetches the first page with `filter` (the request's, search-filter.js), or with `more` the
   * next one, through `engine` (engine-client.js); `remember(track)` keeps each track and
   * returns it. Resolves to the engine's notes about the page (strings), or null when a newer
   * query superseded it; throws as the engine does.
   */
  async load(engine, filter, more, { onProgress, remember }) {
    const offset = more ? this.rows.length : 0;
    const page = await engine.query({ type: Message.BROWSE, filter, offset, limit: BROWSE_PAGE }, [], onProgress);
    if (!page) return null;
    const rows = page.rows.map((r) => remember(r.track) || unavailableTrack({}));
    this.rows = more ? this.rows.concat(rows) : rows;
    this.total = page.total;
    return page.notes || [];
  }

  /** The list's title: "Catalog", or with the chosen tags, and how many of how many are shown. */
  title(filters) {
    const count = this.total > this.rows.length ? ` (${this.rows.length} of ${this.total})` : '';
    const tags = filters.hasTags ? `Catalog, ${filters.outside ? 'outside' : 'with'} the chosen tags` : 'Catalog';
    return tags + count;
  }

  /** Whether the catalog has tracks beyond the pages fetched. */
  get more() {
    return this.total > this.rows.length;
  }
}

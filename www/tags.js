// Tag filters: the `filter` attribute's syntax and the search request's filter (any of the
// values within a category, all of the categories; `outside` keeps exactly the tracks the filter
// would drop). The index applies them, to searches and to catalog pages alike.

/** Parses `"game:Lugaru;format:recording;game:Amoebax"` into `{ game: Set, format: Set }`. */
export function parseFilter(text) {
  const filter = {};
  for (const part of (text || '').split(';')) {
    const colon = part.indexOf(':');
    if (colon < 1) continue;
    const category = part.slice(0, colon).trim();
    const value = part.slice(colon + 1).trim();
    if (category && value) (filter[category] ||= new Set()).add(value);
  }
  return filter;
}

/** The inverse of parseFilter. */
export function formatFilter(filter) {
  return Object.entries(filter)
    .flatMap(([c, values]) => [...values].map((v) => `${c}:${v}`))
    .join(';');
}

export const isEmpty = (filter) => Object.values(filter).every((values) => values.size === 0);

/**
 * The search request's `filter`: categories the index predicts (e.g. instrument) go under
 * `predicted`, the others under `catalog`.
 */
export function requestFilter(filter, outside, predictedCategories) {
  const catalog = {};
  const predicted = {};
  for (const [category, values] of Object.entries(filter)) {
    if (!values.size) continue;
    (predictedCategories.has(category) ? predicted : catalog)[category] = [...values];
  }
  if (!Object.keys(catalog).length && !Object.keys(predicted).length) return undefined;
  return { catalog, predicted, outside: Boolean(outside) };
}

export function formatDuration(seconds) {
  if (!Number.isFinite(seconds)) return '';
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

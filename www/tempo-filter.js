// The tempo filter of <similar-songs>: a BPM range and "similar tempo", on the tracks' predicted
// tempo (the engine's estimate, stored in the index; never a catalog tag). The engine applies
// both (src/tempo/filter.rs); this module parses the attributes, draws the controls and builds
// the request's `filter.tempo`.
import { h } from './dom.js';

/**
 * `"90-110"`, `"90-"` or `"-110"` → `{ min, max }` (BPM; a missing bound is null); null for an
 * empty or unreadable value (the element then shows an error and ignores it).
 */
export function parseBpm(text) {
  const m = /^\s*(\d+(?:\.\d+)?)?\s*-\s*(\d+(?:\.\d+)?)?\s*$/.exec(text || '');
  if (!m || (m[1] === undefined && m[2] === undefined)) return null;
  const range = { min: m[1] === undefined ? null : Number(m[1]), max: m[2] === undefined ? null : Number(m[2]) };
  if (range.min !== null && range.max !== null && range.min > range.max) return null;
  return range;
}

/** `{ min, max }` → the `bpm` attribute's text (`""` for no range). */
export function formatBpm(range) {
  if (!range || (range.min === null && range.max === null)) return '';
  return `${range.min ?? ''}-${range.max ?? ''}`;
}

/**
 * A track's predicted tempo as filters see it: whole BPM, within the range the index stores,
 * when its confidence reaches the index's; else null ("no clear tempo"). `index` is the index
 * info's `tempo` ({ minConfidence, minBpm, maxBpm }, from the engine: src/tempo/code.rs).
 */
export function clearBpm(tempo, index) {
  if (!tempo || !index || !(tempo.bpm > 0) || !(tempo.confidence >= index.minConfidence)) return null;
  return Math.min(index.maxBpm, Math.max(index.minBpm, Math.round(tempo.bpm)));
}

/**
 * The request's `filter.tempo`, or undefined when nothing is asked: the range, and with
 * `similar` the reference's tempo (`referenceBpm`, null when it has none: then no similar-tempo
 * condition can be set).
 */
export function tempoRequest(range, similar, referenceBpm) {
  const tempo = {};
  if (range?.min !== null && range?.min !== undefined) tempo.minBpm = range.min;
  if (range?.max !== null && range?.max !== undefined) tempo.maxBpm = range.max;
  if (similar && referenceBpm) tempo.nearBpm = referenceBpm;
  return Object.keys(tempo).length ? tempo : undefined;
}

/**
 * The "Tempo (predicted)" filter group: two number fields (from, to) and a "Similar tempo"
 * switch. `info` is the index's tempo summary ({ tracks, slowestBpm, fastestBpm, minBpm, maxBpm }); the group is
 * left out when no track has a clear tempo. `referenceBpm` is the current reference's tempo (null
 * when there is none or it is unclear: the switch is then disabled and says why).
 */
export function tempoControls(info, range, similar, referenceBpm, { onRange, onSimilar }) {
  if (!info?.tracks) return null;
  const field = (label, cls, value) => {
    const input = h('input', {
      type: 'number',
      class: cls,
      min: String(info.minBpm),
      max: String(info.maxBpm),
      step: '1',
      inputmode: 'numeric',
      placeholder: label === 'from' ? String(info.slowestBpm) : String(info.fastestBpm),
      'aria-label': `Tempo ${label}, in beats per minute`,
      value: value === null || value === undefined ? '' : String(value),
    });
    input.addEventListener('change', () => {
      const read = (el) => (el.value.trim() === '' ? null : Number(el.value));
      const [min, max] = [read(from), read(to)];
      onRange(min === null && max === null ? null : { min, max });
    });
    return input;
  };
  const from = field('from', 'bpm-from', range?.min);
  const to = field('to', 'bpm-to', range?.max);
  const toggle = h('input', { type: 'checkbox', class: 'similar-tempo', checked: Boolean(similar && referenceBpm), disabled: !referenceBpm });
  toggle.addEventListener('change', () => onSimilar(toggle.checked));
  const why = referenceBpm ? `tempi like ${referenceBpm} BPM (half and double time too)` : 'pick a reference with a clear tempo first';
  return h(
    'div',
    { class: 'filter-group tempo predicted' },
    h('span', { class: 'filter-label', text: 'Tempo' }, h('span', { class: 'predicted-note', text: ' (predicted)' })),
    h('span', { class: 'bpm-range' }, from, h('span', { text: '–' }), to, h('span', { text: ' BPM' })),
    h('label', { class: referenceBpm ? 'similar-tempo-label' : 'similar-tempo-label disabled', title: `Only ${why}` }, toggle, ' Similar tempo'),
    h('span', { class: 'tempo-note', text: `${info.tracks} track${info.tracks === 1 ? '' : 's'} with a clear tempo` }),
  );
}

// The element's DOM: the static skeleton, track rows, filter controls and the reference panel.
// Everything from the catalog is set as text (see dom.js).
import { h } from './dom.js';
import { ErrorCode, hasCode } from './protocol.js';
import { drawMel } from './mel-image.js';
import { formatDuration } from './tags.js';

// Model class names use underscores (acoustic_guitar); people read spaces.
const className = (v) => v.replace(/_/g, ' ');

export const ACCEPT = 'audio/*,.mp3,.ogg,.oga,.opus,.flac,.wav,.m4a,.aac,.webm';

/** Builds the shadow root's content; returns the parts the element talks to. */
export function skeleton(root, cssUrl) {
  const parts = {
    warning: h('p', { class: 'notice warning', part: 'warning', hidden: true, role: 'note' }),
    file: h('input', { type: 'file', accept: ACCEPT, class: 'file-input', 'aria-label': 'Choose a song to compare' }),
    drop: null,
    progress: h('progress', { hidden: true }),
    statusText: h('span', { class: 'status-text' }),
    status: null,
    filters: h('div', { class: 'filters', part: 'filters', role: 'group', 'aria-label': 'Filter by tags' }),
    reference: null,
    refLabel: h('span', { class: 'ref-label' }),
    refTitle: h('strong', { class: 'ref-title' }),
    refFacts: h('p', { class: 'ref-facts' }),
    refPredicted: h('p', { class: 'ref-predicted' }),
    refTempo: h('p', { class: 'ref-tempo' }),
    refPlay: h('button', { type: 'button', class: 'ref-play', hidden: true, text: '▶ Play your file' }),
    clear: h('button', { type: 'button', class: 'clear', text: '✕ Back to the catalog' }),
    steer: h('div', { class: 'steer', part: 'steer', hidden: true, role: 'group', 'aria-label': 'Your references' }),
    addFile: h('input', { type: 'file', accept: ACCEPT, class: 'file-input', 'aria-label': 'Add a song of yours to “more like these”' }),
    mel: h('canvas', { class: 'mel', part: 'mel', hidden: true, role: 'img', 'aria-label': 'Mel spectrogram of your file' }),
    listTitle: h('h3', { class: 'list-title' }),
    list: h('ul', { class: 'list', part: 'list', role: 'listbox', tabindex: '0', 'aria-label': 'Tracks' }),
    empty: h('p', { class: 'empty', hidden: true }),
    more: h('button', { type: 'button', class: 'more', hidden: true, text: 'Show more tracks' }),
    nowPlaying: h('span', { class: 'now-playing', text: 'Nothing playing' }),
    audio: h('audio', { controls: true, preload: 'none' }),
    player: null,
  };
  parts.drop = h(
    'label',
    { class: 'drop', part: 'dropzone' },
    parts.file,
    h('span', { class: 'drop-title' }, 'Drop a song here or ', h('span', { class: 'link', text: 'choose a file' })),
    h('span', { class: 'drop-hint', text: 'It is analysed on this computer and never uploaded. MP3, Ogg, FLAC, WAV, AAC/M4A.' }),
  );
  parts.status = h('div', { class: 'status', role: 'status', 'aria-live': 'polite', part: 'status' }, parts.progress, parts.statusText);
  parts.reference = h(
    'section',
    { class: 'reference', part: 'reference', hidden: true },
    h('div', { class: 'ref-head' }, h('div', {}, parts.refLabel, ' ', parts.refTitle), parts.clear),
    parts.refFacts,
    parts.mel,
    parts.refPredicted,
    parts.refTempo,
    h('div', { class: 'ref-actions' }, parts.refPlay, h('label', { class: 'add-file' }, parts.addFile, h('span', { text: '＋ Add a song of yours' }))),
    parts.steer,
  );
  parts.player = h('div', { class: 'player', part: 'player' }, parts.nowPlaying, parts.audio);
  root.replaceChildren(
    h('link', { rel: 'stylesheet', href: cssUrl }),
    h(
      'div',
      { class: 'root', part: 'root' },
      parts.warning,
      parts.drop,
      parts.status,
      parts.filters,
      parts.reference,
      h('div', { class: 'list-head' }, parts.listTitle, h('span', { class: 'kbd-hint', text: '↑ ↓ select and play · Enter: similar · + / −: more / less like · V: versions · Space: pause' })),
      parts.list,
      parts.more,
      parts.empty,
      parts.player,
    ),
  );
  return parts;
}

function tagChips(track, predictedCategories, bpm) {
  const chips = [];
  if (bpm) chips.push(h('span', { class: 'tag predicted tempo', title: 'Tempo predicted by the engine from the audio', text: `${bpm} BPM (predicted)` }));
  for (const [category, values] of Object.entries(track.tags || {})) {
    for (const v of values) chips.push(h('span', { class: 'tag', text: `${category}: ${v}` }));
  }
  for (const [category, values] of Object.entries(track.predicted || {})) {
    for (const v of values) {
      chips.push(h('span', { class: 'tag predicted', title: 'Predicted by the model from the audio', text: `${category}: ${className(v)} (predicted)` }));
    }
  }
  if (!chips.length && !predictedCategories.size) chips.push(h('span', { class: 'tag none', text: 'no tags' }));
  return chips;
}

/** One list row: a catalog track, with its score when it is a search result. */
export function trackRow(track, hit, index, { predictedCategories, bpm, playing, polarity, onPlay, onSimilar, onMore, onLess }) {
  const meta = [track.collection, track.composer, formatDuration(track.durationSeconds)].filter(Boolean).join(' · ');
  const rights = [track.license && `Licence: ${track.license}`, track.attribution].filter(Boolean).join(' · ');
  const score = hit
    ? h(
        'div',
        { class: 'score', title: `Cosine similarity ${hit.score.toFixed(3)}` },
        h('span', { class: 'score-value', text: `${Math.round(100 * Math.max(0, hit.score))}%` }),
        h('span', { class: 'bar' }, h('span', { class: 'fill' })),
        h('span', { class: 'score-label', text: 'match' }),
      )
    : null;
  score?.style.setProperty('--score', String(Math.max(0, Math.min(1, hit.score))));
  const best = hit && track.durationSeconds > 6 ? h('span', { class: 'best', text: ` · best match at ${formatDuration(hit.bestSegmentSeconds)}` }) : null;
  // A screen reader names the option by what a buyer scans for, not by every tag on it.
  const spoken = [track.title || track.id, meta, hit ? `${Math.round(100 * Math.max(0, hit.score))}% match` : ''].filter(Boolean).join(', ');
  return h(
    'li',
    { class: 'row', part: 'row', role: 'option', id: `row-${index}`, 'aria-selected': 'false', 'data-index': String(index), 'aria-label': spoken },
    h('button', {
      type: 'button',
      class: playing ? 'play playing' : 'play',
      tabindex: '-1',
      'aria-label': `${playing ? 'Pause' : 'Play'} ${track.title}`,
      text: playing ? '❚❚' : '▶',
      onclick: onPlay,
    }),
    h(
      'div',
      { class: 'main' },
      h('div', { class: 'title', text: track.title || track.id }),
      h('div', { class: 'meta' }, meta, best),
      h('div', { class: 'tags' }, tagChips(track, predictedCategories, bpm)),
      rights ? h('div', { class: 'rights', text: rights }) : null,
      hit?.versions?.length ? versionList(hit.versions, index) : null,
    ),
    score,
    h(
      'div',
      { class: 'steer-buttons' },
      h('button', {
        type: 'button',
        class: 'more-like',
        tabindex: '-1',
        text: '＋',
        title: 'More like this',
        'aria-label': `More like ${track.title}`,
        'aria-pressed': String(polarity === 'positive'),
        onclick: onMore,
      }),
      h('button', {
        type: 'button',
        class: 'less-like',
        tabindex: '-1',
        text: '−',
        title: 'Less like this',
        'aria-label': `Less like ${track.title}`,
        'aria-pressed': String(polarity === 'negative'),
        onclick: onLess,
      }),
    ),
    h('button', { type: 'button', class: 'similar', tabindex: '-1', text: 'Similar', 'aria-label': `Find songs similar to ${track.title}`, onclick: onSimilar }),
  );
}

/**
 * "+N versions" under a result: the other versions of its song (cut-downs, loops, re-encodings)
 * that the search found, folded under their best match; the button opens and closes the list.
 */
function versionList(versions, index) {
  const id = `versions-${index}`;
  const list = h(
    'ul',
    { class: 'versions', id, part: 'versions', hidden: true },
    versions.map((v) =>
      h(
        'li',
        { class: 'version' },
        h('span', { class: 'version-title', text: v.title || v.id || 'details unavailable' }),
        h('span', { class: 'version-meta', text: [formatDuration(v.durationSeconds), `${Math.round(100 * Math.max(0, v.score))}% match`].filter(Boolean).join(' · ') }),
      ),
    ),
  );
  const label = `+${versions.length} version${versions.length === 1 ? '' : 's'}`;
  const toggle = h('button', {
    type: 'button',
    class: 'versions-toggle',
    part: 'versions-toggle',
    tabindex: '-1',
    text: label,
    'aria-expanded': 'false',
    'aria-controls': id,
    'aria-label': `${label} of this song`,
    onclick: (e) => {
      e.stopPropagation();
      list.hidden = !list.hidden;
      toggle.setAttribute('aria-expanded', String(!list.hidden));
    },
  });
  return h('div', { class: 'version-group' }, toggle, list);
}

/**
 * The tag filter controls: toggle chips per category (a drop-down for long ones) and the
 * "outside these tags" switch. `onChange(category, values)` / `onOutside(bool)`.
 */
export function filterControls(categories, filter, outside, { onChange, onOutside }) {
  const groups = [];
  for (const { name, counts, predicted } of categories) {
    const selected = filter[name] || new Set();
    const label = h('span', { class: 'filter-label', text: name }, predicted ? h('span', { class: 'predicted-note', text: ' (predicted)' }) : null);
    const values = Object.entries(counts);
    let control;
    if (values.length > 8) {
      const select = h(
        'select',
        { 'aria-label': `Filter by ${name}`, onchange: (e) => onChange(name, e.target.value ? [e.target.value] : []) },
        h('option', { value: '', text: `any ${name}` }),
        values.map(([v, n]) => h('option', { value: v, text: `${predicted ? className(v) : v} (${n})`, selected: selected.has(v) })),
      );
      control = select;
    } else {
      control = values.map(([v, n]) =>
        h(
          'button',
          {
            type: 'button',
            class: 'chip',
            'aria-pressed': String(selected.has(v)),
            'aria-label': `${name}: ${predicted ? className(v) : v}, ${n} track${n === 1 ? '' : 's'}`,
            onclick: () => {
              const next = new Set(selected);
              if (next.has(v)) next.delete(v);
              else next.add(v);
              onChange(name, [...next]);
            },
          },
          predicted ? className(v) : v,
          h('span', { class: 'count', text: String(n) }),
        ),
      );
    }
    groups.push(h('div', { class: predicted ? 'filter-group predicted' : 'filter-group' }, label, control));
  }
  const any = Object.values(filter).some((s) => s.size);
  const toggle = h('input', { type: 'checkbox', checked: outside, disabled: !any, onchange: (e) => onOutside(e.target.checked) });
  groups.push(
    h('label', { class: any ? 'outside' : 'outside disabled', title: 'Show only tracks that do NOT carry the chosen tags (tags are missing on many tracks)' }, toggle, ' Outside these tags'),
  );
  return groups;
}

/** The top predicted classes of an analysed file, as one line of text. */
export function predictedSummary(heads) {
  return (heads || [])
    .map((head) => {
      const top = head.classes
        .map((c, i) => [c, head.probabilities[i]])
        .sort((a, b) => b[1] - a[1])
        .slice(0, 3);
      return `Predicted ${head.output}: ${top.map(([c, p]) => `${className(c)} ${Math.round(100 * p)}%`).join(', ')}`;
    })
    .join(' · ');
}

/**
 * An analysed file's tempo as one line: "Tempo: 96.1 BPM (confidence 0.68)", or "no clear
 * tempo" when the onsets are not periodic enough to name one (noise, free time, a held chord).
 */
export function tempoSummary(tempo) {
  if (!tempo) return '';
  const confidence = `confidence ${tempo.confidence.toFixed(2)}`;
  return tempo.clear ? `Tempo: ${tempo.bpm.toFixed(1)} BPM (${confidence}, predicted)` : `Tempo: no clear tempo (${confidence})`;
}

/** Fills the reference panel: a catalog track, or the buyer's file with its spectrogram. */
export function showReference(ui, reference, track) {
  ui.reference.hidden = !reference;
  ui.mel.hidden = true;
  ui.refPlay.hidden = !reference?.blobUrl;
  ui.refFacts.textContent = '';
  ui.refPredicted.textContent = '';
  ui.refTempo.textContent = '';
  if (!reference) return;
  if (track) {
    ui.refLabel.textContent = 'Similar to';
    ui.refTitle.textContent = track.title || track.id;
    ui.refFacts.textContent = [track.collection, track.composer, formatDuration(track.durationSeconds)].filter(Boolean).join(' · ');
    return;
  }
  ui.mel.setAttribute('aria-label', 'Mel spectrogram of your file');
  ui.refLabel.textContent = reference.kind === 'file' ? 'Similar to your file' : 'Similar to your audio';
  ui.refTitle.textContent = reference.name;
  const analysis = reference.analysis;
  if (!analysis) return;
  const s = analysis.source || {};
  ui.refFacts.textContent =
    `${formatDuration(analysis.durationSeconds)} · ${s.codec || 'PCM'}` +
    `${s.sample_rate_hz ? `, ${s.sample_rate_hz} Hz` : ''}${s.channels ? `, ${s.channels} ch` : ''}` +
    `${reference.decodedBy === 'browser' ? ' (decoded by the browser)' : ''}` +
    ` · analysed in ${Math.round(analysis.elapsedMs)} ms on this computer`;
  ui.refPredicted.textContent = predictedSummary(analysis.heads);
  ui.refTempo.textContent = tempoSummary(analysis.tempo);
  drawMel(ui.mel, analysis.mel);
  ui.mel.hidden = false;
}

/**
 * The shortlist under the reference: "More like" and "Less like" chips, each with a remove
 * button. `titleOf(ref)` names a reference; `onRemove(ref)`. Hidden while there is only the one
 * reference the panel already shows.
 */
export function showSteering(ui, refs, titleOf, onRemove) {
  const side = (label, list, kind) =>
    list.length
      ? h(
          'div',
          { class: `steer-side ${kind}` },
          h('span', { class: 'steer-label', text: label }),
          ...list.map((ref) =>
            h(
              'span',
              { class: `steer-chip ${kind}` },
              h('span', { class: 'steer-title', text: titleOf(ref) }),
              h('button', { type: 'button', class: 'steer-remove', text: '✕', 'aria-label': `Remove ${titleOf(ref)} from ${label.toLowerCase()}`, onclick: () => onRemove(ref) }),
            ),
          ),
        )
      : null;
  const shown = refs.size > 1 || refs.negative.length > 0;
  ui.steer.hidden = !shown;
  ui.steer.replaceChildren(...(shown ? [side('More like', refs.positive, 'positive'), side('Less like', refs.negative, 'negative')].filter(Boolean) : []));
}

/**
 * Keeps the place of a catalog reference's spectrogram while its preview is analysed (an empty
 * dark strip), so that the list under the panel does not move when the picture arrives: a
 * pointer on its way to a row's ＋ would land on the row below.
 */
export function reserveTrackPicture(ui, title) {
  ui.mel.getContext('2d')?.clearRect(0, 0, ui.mel.width, ui.mel.height);
  ui.mel.setAttribute('aria-label', `Spectrogram of ${title}: being computed from its preview`);
  ui.mel.hidden = false;
}

/** A catalog reference's spectrogram (from its preview) in the reference panel. */
export function showTrackPicture(ui, mel, title) {
  drawMel(ui.mel, mel);
  ui.mel.setAttribute('aria-label', `Mel spectrogram of ${title} (from its preview)`);
  ui.mel.hidden = false;
}

/**
 * The status line once the catalog is in: how many tracks, what can be done, and whether this
 * browser runs the slower plain-SIMD engine. '' before the index is loaded.
 */
export function readyText(indexInfo, modelInfo, modelProblem) {
  if (!indexInfo) return '';
  const n = indexInfo.tracks;
  // A song dropped while the model is still downloading waits for it (engine-worker.js).
  const drop = hasCode(modelProblem, ErrorCode.MODEL_LOADING) ? ', or drop a song of your own (analysed once the song analyser has loaded)' : modelProblem ? '' : ', or drop a song of your own';
  const plain = modelInfo?.engineBuild === 'simd128' ? ' (This browser has no relaxed SIMD: songs are analysed with the plain-SIMD engine, a little slower.)' : '';
  return `${n} track${n === 1 ? '' : 's'}. Pick “Similar” on any of them${drop}.${plain}`;
}

/**
 * Shows (or hides) the warning about the model (`{ name, trained }`, or null): an untrained
 * fixture, or why songs cannot be dropped.
 */
export function showModelWarning(ui, model, modelProblem) {
  const notes = [];
  if (model && !model.trained) {
    notes.push(`Model “${model.name}” is an untrained test fixture: similarity scores and predicted tags are not meaningful yet.`);
  }
  if (modelProblem) notes.push(`Dropping a song will not work: ${modelProblem.message}. “Similar” on catalog tracks still works.`);
  ui.warning.textContent = notes.join(' ');
  ui.warning.hidden = notes.length === 0;
}

/**
 * The element's own inputs: a chosen or dropped song (`onSong(file)`; the whole element is a
 * drop target), a song added to the shortlist (`onAddSong(file)`), "Clear", "More" under the
 * catalog list and the reference panel's play button. `onIntent()` hears a visitor start to
 * bring a song (files dragged over the element, a file chooser opened): the analyser loads then.
 */
export function wireInputs(host, ui, { onIntent, onSong, onAddSong, onClear, onMore, onPlayReference }) {
  const chosen = (input, then) =>
    input.addEventListener('change', () => {
      const file = input.files[0];
      input.value = ''; // choosing the same file again must fire `change` again
      if (file) then(file);
    });
  chosen(ui.file, onSong);
  chosen(ui.addFile, onAddSong);
  ui.file.addEventListener('click', onIntent);
  ui.addFile.addEventListener('click', onIntent);
  host.addEventListener('dragenter', (e) => {
    if ([...(e.dataTransfer?.types || [])].includes('Files')) onIntent();
  });
  host.addEventListener('dragover', (e) => {
    if (![...(e.dataTransfer?.types || [])].includes('Files')) return;
    e.preventDefault();
    ui.drop.classList.add('over');
  });
  host.addEventListener('dragleave', (e) => {
    if (!host.contains(e.relatedTarget)) ui.drop.classList.remove('over');
  });
  host.addEventListener('drop', (e) => {
    const file = e.dataTransfer?.files?.[0];
    ui.drop.classList.remove('over');
    if (!file) return;
    e.preventDefault();
    onSong(file);
  });
  ui.clear.addEventListener('click', onClear);
  ui.more.addEventListener('click', onMore);
  ui.refPlay.addEventListener('click', onPlayReference);
}

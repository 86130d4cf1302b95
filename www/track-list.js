// The list of tracks the element shows (results or catalog pages): its rows, the selected row,
// the keyboard, and the play buttons' state. Each row is drawn by trackRow (similar-songs-view.js);
// what a row's buttons do is the element's business, passed in as `actions`.
import { trackRow } from './similar-songs-view.js';

export class TrackList {
  #ui;
  #player;
  #actions;
  #rows = []; // [{ track, hit }]: hit is null while browsing
  #selected = -1;

  /**
   * `ui`: the skeleton's parts (list, listTitle, empty, more); `player`: the PreviewPlayer;
   * `actions`: { play(track, hit, startSeconds), similar(id), toggle(id, polarity),
   * polarityOf(id), choose(track, hit) } (choose: the user picked a row).
   */
  constructor(ui, player, actions) {
    this.#ui = ui;
    this.#player = player;
    this.#actions = actions;
    ui.list.addEventListener('click', (e) => {
      const row = e.target.closest('.row');
      if (row) this.select(Number(row.dataset.index), { user: true });
      ui.list.focus({ preventScroll: true });
    });
    ui.list.addEventListener('keydown', (e) => this.#onKey(e));
  }

  /** Number of rows shown. */
  get length() {
    return this.#rows.length;
  }

  /**
   * Shows `rows` under `title`, with `empty` as the text when there are none (hidden when
   * `empty` is null) and the "more" button when `more`. `bpmOf(track)`: the tempo to show on a
   * row, or null; `predictedCategories`: the tag categories that are predicted. Results select
   * their first row; otherwise the row selected before stays selected when it is still there.
   */
  show(rows, { title, empty, more, results, bpmOf, predictedCategories }) {
    const ui = this.#ui;
    const keepId = this.#rows[this.#selected]?.track.id;
    this.#rows = rows;
    ui.listTitle.textContent = title;
    ui.listTitle.hidden = !title;
    ui.list.replaceChildren(
      ...rows.map(({ track, hit }, i) =>
        trackRow(track, hit, i, {
          predictedCategories,
          bpm: bpmOf(track),
          playing: this.#player.isPlaying(track.id),
          polarity: this.#actions.polarityOf(track.id),
          onPlay: (e) => {
            e.stopPropagation();
            if (this.#player.isPlaying(track.id)) this.#player.pause();
            else this.select(i, { play: true });
          },
          onSimilar: (e) => {
            e.stopPropagation();
            this.select(i);
            this.#actions.similar(track.id);
          },
          // Pressed again, a ＋ or − takes the track off the shortlist.
          onMore: (e) => {
            e.stopPropagation();
            this.#actions.toggle(track.id, 'positive');
          },
          onLess: (e) => {
            e.stopPropagation();
            this.#actions.toggle(track.id, 'negative');
          },
        }),
      ),
    );
    ui.more.hidden = !more;
    ui.empty.hidden = rows.length > 0 || empty === null;
    ui.empty.textContent = empty ?? '';
    const keep = rows.findIndex((r) => r.track.id === keepId);
    this.#selected = -1;
    if (results && rows.length) this.select(0, { scroll: false });
    else if (keep >= 0) this.select(keep, { scroll: false });
  }

  /** Selects row `i`; with `play`, plays it (from `start` seconds, else its best moment). */
  select(i, { play = false, start, scroll = true, user = false } = {}) {
    if (i < 0 || i >= this.#rows.length) return;
    const list = this.#ui.list;
    list.querySelector('[aria-selected="true"]')?.setAttribute('aria-selected', 'false');
    this.#selected = i;
    const row = list.children[i];
    row.setAttribute('aria-selected', 'true');
    list.setAttribute('aria-activedescendant', row.id);
    if (scroll) row.scrollIntoView({ block: 'nearest' });
    const { track, hit } = this.#rows[i];
    if (user) this.#actions.choose(track, hit);
    if (play) this.#actions.play(track, hit, start);
  }

  /** Selects and plays the row of track `id`; false when no row shows it. */
  playTrack(id, startSeconds) {
    const i = this.#rows.findIndex((r) => r.track.id === id);
    if (i < 0) return false;
    this.select(i, { play: true, start: startSeconds });
    return true;
  }

  /** Brings the play buttons in line with the player. */
  markPlaying() {
    for (const [i, { track }] of this.#rows.entries()) {
      const button = this.#ui.list.children[i]?.querySelector('.play');
      if (!button) continue;
      const on = this.#player.isPlaying(track.id);
      button.textContent = on ? '❚❚' : '▶';
      button.classList.toggle('playing', on);
      button.setAttribute('aria-label', `${on ? 'Pause' : 'Play'} ${track.title}`);
    }
  }

  // Arrows, Home and End move (and play); Enter searches; ＋ / − steer; Space plays or pauses.
  #onKey(e) {
    const n = this.#rows.length;
    if (!n) return;
    const moves = { ArrowDown: this.#selected + 1, ArrowUp: this.#selected - 1, Home: 0, End: n - 1 };
    const current = this.#rows[this.#selected];
    if (e.key in moves) {
      e.preventDefault();
      this.select(Math.max(0, Math.min(n - 1, moves[e.key])), { play: true, user: true });
    } else if (e.key === 'Enter' && current) {
      e.preventDefault();
      this.#actions.similar(current.track.id);
    } else if ((e.key === '+' || e.key === '-') && current) {
      e.preventDefault();
      this.#actions.toggle(current.track.id, e.key === '+' ? 'positive' : 'negative');
    } else if (e.key === 'v' && current) {
      // The selected row's "+N versions", for the keyboard (the row's buttons are not tab stops).
      const toggle = this.#ui.list.children[this.#selected]?.querySelector('.versions-toggle');
      if (toggle) {
        e.preventDefault();
        toggle.click();
      }
    } else if (e.key === ' ' && current) {
      e.preventDefault();
      const { track, hit } = current;
      if (this.#player.isPlaying(track.id)) this.#player.pause();
      else if (this.#player.isLoaded(track.id)) this.#player.resume(track.title);
      else this.#actions.play(track, hit);
    }
  }
}

/**
 * A row's track when its metadata could not be had (its metadata shard failed to load: the search
 * still ranked it), from what is known: the hit's `id`, or a browse row's `position`.
 */
export function unavailableTrack({ id } = {}) {
  return { id: id || '', title: id ? `${id} (details unavailable)` : 'Track details unavailable', collection: '', tags: {}, predicted: {}, previewUrl: null };
}

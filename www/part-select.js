// Choosing a part of the buyer's song on its spectrogram: drag across the picture with a mouse
// (or a finger), or move the two sliders under it with the keyboard (arrow keys: 0.5 s, Page
// Up/Down: 5 s). The chosen part is shaded on the picture; `onChoose(from, to)` hears the new
// part when a drag ends or a slider is released (seconds), `onChoose(null)` for the whole song.
import { h } from './dom.js';
import { formatDuration } from './tags.js';

/** Shortest part a drag chooses, in seconds (a click without a drag is not a part). */
const MIN_PART_SECONDS = 0.5;

export class PartSelector {
  #duration = 0;
  #onChoose;
  #canvas;
  #shade = h('div', { class: 'part-shade', hidden: true });
  #from = h('input', { type: 'range', class: 'part-from', min: '0', step: '0.5', 'aria-label': 'Start of the part to search by, in seconds' });
  #to = h('input', { type: 'range', class: 'part-to', min: '0', step: '0.5', 'aria-label': 'End of the part to search by, in seconds' });
  #text = h('span', { class: 'part-text', 'aria-live': 'polite' });
  #whole = h('button', { type: 'button', class: 'part-whole', text: 'Whole song' });
  /** The frame around the spectrogram (for the shade) and the controls under it. */
  frame;
  controls;

  /** `canvas`: the spectrogram; `onChoose(from, to)` or `onChoose(null)`. */
  constructor(canvas, onChoose) {
    this.#canvas = canvas;
    this.#onChoose = onChoose;
    this.frame = h('div', { class: 'mel-frame' }, this.#shade);
    this.controls = h(
      'div',
      { class: 'part-controls', hidden: true, role: 'group', 'aria-label': 'Search by a part of your song' },
      h('span', { class: 'part-label', text: 'Search by a part:' }),
      h('label', {}, 'from ', this.#from),
      h('label', {}, 'to ', this.#to),
      this.#text,
      this.#whole,
    );
    this.#wireDrag();
    for (const input of [this.#from, this.#to]) {
      input.addEventListener('input', () => this.#fromSliders(input));
      input.addEventListener('change', () => this.#choose());
    }
    this.#whole.addEventListener('click', () => {
      this.#set(0, this.#duration);
      this.#onChoose(null);
    });
  }

  /** Puts the frame where the canvas is, the canvas in it and the controls after it. */
  mount() {
    this.#canvas.replaceWith(this.frame);
    this.frame.prepend(this.#canvas);
    this.frame.after(this.controls);
  }

  /** Shows the controls for a song of `seconds`, with `part` ({ from, to }) or the whole chosen. */
  show(seconds, part = null) {
    this.#duration = seconds;
    for (const input of [this.#from, this.#to]) input.max = String(seconds);
    this.controls.hidden = false;
    this.#set(part?.from ?? 0, part?.to ?? seconds);
  }

  hide() {
    this.controls.hidden = true;
    this.#shade.hidden = true;
  }

  #isWhole(from, to) {
    return from <= 0 && to >= this.#duration;
  }

  #set(from, to) {
    this.#from.value = String(from);
    this.#to.value = String(to);
    this.#paint(from, to);
  }

  #paint(from, to) {
    const d = this.#duration || 1;
    this.#shade.hidden = this.#isWhole(from, to);
    this.#shade.style.left = `${(100 * from) / d}%`;
    this.#shade.style.width = `${(100 * Math.max(0, to - from)) / d}%`;
    this.#text.textContent = this.#isWhole(from, to) ? 'the whole song' : `${formatDuration(from)}–${formatDuration(to)}`;
  }

  // A slider never passes the other one.
  #fromSliders(moved) {
    let from = Number(this.#from.value);
    let to = Number(this.#to.value);
    if (from > to - MIN_PART_SECONDS) {
      if (moved === this.#from) from = Math.max(0, to - MIN_PART_SECONDS);
      else to = Math.min(this.#duration, from + MIN_PART_SECONDS);
      this.#from.value = String(from);
      this.#to.value = String(to);
    }
    this.#paint(from, to);
  }

  #choose() {
    const from = Number(this.#from.value);
    const to = Number(this.#to.value);
    this.#onChoose(this.#isWhole(from, to) ? null : from, to);
  }

  #wireDrag() {
    const canvas = this.#canvas;
    let start = null;
    const at = (e) => {
      const r = canvas.getBoundingClientRect();
      return Math.max(0, Math.min(1, (e.clientX - r.left) / r.width)) * this.#duration;
    };
    canvas.addEventListener('pointerdown', (e) => {
      if (!this.#duration) return;
      start = at(e);
      canvas.setPointerCapture?.(e.pointerId);
      e.preventDefault();
    });
    canvas.addEventListener('pointermove', (e) => {
      if (start === null) return;
      const t = at(e);
      this.#set(Math.min(start, t), Math.max(start, t));
    });
    const end = (e) => {
      if (start === null) return;
      const t = at(e);
      const [from, to] = [Math.min(start, t), Math.max(start, t)];
      start = null;
      if (to - from < MIN_PART_SECONDS) return; // a click, not a drag
      this.#set(from, to);
      this.#choose();
    };
    canvas.addEventListener('pointerup', end);
    canvas.addEventListener('pointercancel', () => {
      start = null;
    });
  }
}

// The element's built-in preview player: one <audio>, started at a given second (a result's
// best-matching segment). Seeking needs a server that answers byte-range requests.
export class PreviewPlayer {
  #audio;
  #label;
  #id = null; // what is loaded: a catalog track id, or null for the buyer's own file

  /** `onChange()` runs whenever playback starts, pauses or stops. */
  constructor(audio, label, onChange) {
    this.#audio = audio;
    this.#label = label;
    for (const type of ['play', 'pause', 'ended', 'emptied']) audio.addEventListener(type, onChange);
    audio.addEventListener('error', () => {
      if (audio.src) label.textContent = 'This preview cannot be played.';
    });
  }

  /** Whether track `id` is loaded and playing. */
  isPlaying(id) {
    return this.#id === id && !this.#audio.paused;
  }

  isLoaded(id) {
    return this.#id === id && Boolean(this.#audio.src);
  }

  start(url, startSeconds, id, label) {
    const audio = this.#audio;
    this.#id = id;
    this.#label.textContent = `Playing: ${label}`;
    if (audio.src !== url) {
      audio.src = url;
      audio.preload = 'auto';
    }
    // Seek once the duration is known; before that Chromium may ignore it.
    const seek = () => {
      if (startSeconds && Math.abs(audio.currentTime - startSeconds) > 0.5) audio.currentTime = startSeconds;
    };
    if (audio.readyState >= 1) seek();
    else audio.addEventListener('loadedmetadata', seek, { once: true });
    this.resume(label);
  }

  resume(label = '') {
    this.#audio.play().catch((e) => {
      // Autoplay rules may refuse a start that no click or key press led to.
      if (e.name !== 'AbortError') this.#label.textContent = `Press play to listen: ${label}`;
    });
  }

  pause() {
    this.#audio.pause();
  }
}

// Spectrograms of catalog tracks for the reference panel: nothing about them is stored in the
// index, so the worker analyses the track's preview (`overview`). The most recent few are kept,
// so that going back to a reference does not analyse its preview again.
import { Message } from './protocol.js';

const KEPT = 32;

export class TrackPictures {
  #pictures = new Map(); // preview URL → { mel, durationSeconds }, oldest first
  #request;

  /** `request(message)`: the engine client's request (engine-client.js). */
  constructor(request) {
    this.#request = request;
  }

  /** The picture of the preview at `url`, or null when it cannot be had (the panel goes without). */
  async get(url) {
    let picture = this.#pictures.get(url);
    if (picture) return picture;
    try {
      picture = await this.#request({ type: Message.OVERVIEW, url });
    } catch {
      return null; // the preview failed, or a newer request took the worker's place
    }
    if (!picture) return null;
    this.#pictures.set(url, picture);
    if (this.#pictures.size > KEPT) this.#pictures.delete(this.#pictures.keys().next().value);
    return picture;
  }

  /** Whether the picture of `url` is at hand (no analysis needed). */
  has(url) {
    return this.#pictures.has(url);
  }
}

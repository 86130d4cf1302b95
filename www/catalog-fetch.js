// Fetching the parts of a published catalog (format 3) for the engine worker: the manifest,
// whole parts, and byte ranges, with progress in bytes and the faults a CDN can produce.
//
// - Range pieces of one file are sorted and merged when they are close (one request for
//   neighbouring re-ranking blocks), then cut back into pieces.
// - A server that ignores `Range` answers 200 with the whole file: the part is then read whole
//   once (if it is not larger than `maxWholePartBytes`), kept, and later pieces are cut from it;
//   a larger part is not downloaded and its pieces fail with a message that says why.
// - A response larger than the manifest says is cut off as soon as it is, never read to the end.
// - No byte for `stallMs` aborts a request ("no data for 20 s"); the rest go on.
// - Parts fetched whole (the quantiser, codes and filters parts) are kept in the Cache Storage
//   (`simsong-parts`), keyed by URL: their names are their checksums, so an entry never goes
//   stale, and a returning visitor (an index that only got a delta) fetches just the new parts.
//   The HTTP cache cannot be relied on for this: browsers keep entries of many MB only in a
//   disk cache, and not in private windows. Entries of parts the manifest no longer names are
//   deleted when it loads; an entry whose bytes fail their checks is dropped (`evict`). A whole
//   part asked for while it is already on its way (a job and the idle load) is fetched once.
// Failures are per piece: `fetchPieces` never throws for one of them.
import { ErrorCode, hasCode, SimsongError } from './protocol.js';

const MERGE_GAP_BYTES = 4096; // merge range pieces at most this far apart
const MAX_MERGED_BYTES = 1 << 20; // into requests of at most this many bytes
// Requests in flight at once. Over HTTP/2 they share one connection, so a list's dozen metadata
// records go in one round trip; over HTTP/1.1 the browser queues what its six connections
// to a host cannot carry (the same as a limit of 6).
const CONCURRENCY = 16;
const CACHE_NAME = 'simsong-parts';
// A part's name is its checksum: safe to keep for good.
const IMMUTABLE_PART = /\/parts\/[a-z]+-[0-9a-f]{20}\.bin$/;

export class PartFetcher {
  /**
   * @param {string} manifestUrl absolute URL of index.json; parts are relative to it
   * @param {{ onProgress?: (p: { loaded: number, total: number }) => void, stallMs?: number, maxWholePartBytes?: number }} [options]
   */
  constructor(manifestUrl, { onProgress = () => {}, stallMs = 20000, maxWholePartBytes = 96 << 20 } = {}) {
    this.manifestUrl = manifestUrl;
    this.onProgress = onProgress;
    this.stallMs = stallMs;
    this.maxWholePartBytes = maxWholePartBytes;
    this.bytesFetched = 0; // bytes read from the network, all requests together
    this.requests = 0;
    this.wholeParts = new Map(); // file → Uint8Array, for servers that ignore Range
    this.rangeIgnored = false;
    this.bytesFromCache = 0; // bytes of whole parts found in the Cache Storage
    this.wholeInFlight = new Map(); // URL → promise of { bytes, cached } | { error } (see #whole)
    this.cache = globalThis.caches?.open(CACHE_NAME).catch(() => null) ?? Promise.resolve(null);
  }

  /** Forgets the whole parts fetched so far (once the index holds them). */
  forgetWhole() {
    this.wholeInFlight.clear();
  }

  /** Drops the cached copy of `file` (its bytes failed their checks). */
  async evict(file) {
    this.wholeInFlight.delete(new URL(file, this.manifestUrl).href);
    await (await this.cache)?.delete(new URL(file, this.manifestUrl).href);
  }

  /** Deletes cached parts of this index's folder that `files` (the manifest's) no longer name. */
  async prune(files) {
    const cache = await this.cache;
    if (!cache) return;
    const folder = new URL('parts/', this.manifestUrl).href;
    const keep = new Set(files.map((f) => new URL(f, this.manifestUrl).href));
    for (const request of await cache.keys()) {
      if (request.url.startsWith(folder) && !keep.has(request.url)) await cache.delete(request);
    }
  }

  /** Takes the manifest's bytes as the page fetched them (counted as fetched); returns them. */
  adoptManifest(bytes) {
    this.bytesFetched += bytes.length;
    this.requests++;
    return bytes;
  }

  /** The manifest's bytes (revalidated every time: it is the one file that changes). */
  async manifest() {
    const response = await this.#request(this.manifestUrl, { cache: 'no-cache' }, 'the catalog manifest');
    if (!response.ok)
      throw new SimsongError(ErrorCode.NETWORK, `cannot load the catalog manifest from ${this.manifestUrl} (HTTP ${response.status})`, { url: this.manifestUrl, status: response.status });
    return this.#read(response, null, () => {});
  }

  /**
   * Fetches pieces `[{ key, file, offset, length, partBytes, whole }]`; resolves to a Map
   * key → { bytes } | { error } once every piece has an answer. `onProgress` hears the bytes.
   */
  async fetchPieces(pieces, onProgress = this.onProgress, signal = undefined) {
    const results = new Map();
    const total = pieces.reduce((sum, p) => sum + p.length, 0);
    let loaded = 0;
    const progress = (n) => {
      loaded += n;
      onProgress({ loaded: Math.min(loaded, total), total });
    };
    onProgress({ loaded: 0, total });
    const jobs = [];
    const ranges = new Map();
    for (const p of pieces) {
      if (p.whole) jobs.push(() => this.#whole(p, results, progress, signal));
      else if (!ranges.has(p.file)) ranges.set(p.file, [p]);
      else ranges.get(p.file).push(p);
    }
    for (const [file, list] of ranges) {
      for (const group of mergeRanges(list)) jobs.push(() => this.#range(file, group, results, progress, signal));
    }
    await runLimited(jobs, CONCURRENCY);
    return results;
  }

  async #whole(piece, results, progress, signal) {
    const url = new URL(piece.file, this.manifestUrl).href;
    let pending = this.wholeInFlight.get(url);
    if (!pending) {
      const answer = new Map();
      pending = this.#wholeOnce(piece, url, answer, progress, signal).then(() => answer.get(piece.key));
      this.wholeInFlight.set(url, pending);
      // Kept once answered too (until `forgetWhole`), so a piece asked for again before the
      // first asker has handed its bytes to the index is not downloaded twice; a failure is not.
      pending.then((r) => r?.error && this.wholeInFlight.delete(url));
    }
    results.set(piece.key, await pending);
  }

  async #wholeOnce(piece, url, results, progress, signal) {
    try {
      const cache = IMMUTABLE_PART.test(url) ? await this.cache : null;
      const hit = await cache?.match(url).catch(() => null);
      if (hit) {
        const bytes = new Uint8Array(await hit.arrayBuffer());
        if (bytes.length === piece.partBytes) {
          this.bytesFromCache += bytes.length;
          progress(bytes.length);
          results.set(piece.key, { bytes, cached: true });
          return;
        }
      }
      const response = await this.#request(url, { signal }, piece.file);
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const bytes = await this.#read(response, piece.partBytes, progress);
      results.set(piece.key, { bytes });
      // Kept for the next visit; the index checks the bytes before using them, and the worker
      // evicts what fails.
      cache?.put(url, new Response(bytes, { headers: { 'Content-Type': 'application/octet-stream' } })).catch(() => {});
    } catch (e) {
      results.set(piece.key, { error: partError(piece.file, e) });
    }
  }

  async #range(file, group, results, progress, signal) {
    const url = new URL(file, this.manifestUrl).href;
    const partBytes = group[0].partBytes;
    const cut = (whole, base) => {
      for (const p of group) results.set(p.key, { bytes: whole.subarray(p.offset - base, p.offset - base + p.length) });
    };
    try {
      if (this.wholeParts.has(file)) {
        cut(this.wholeParts.get(file), 0);
        return;
      }
      const start = group[0].offset;
      const end = Math.max(...group.map((p) => p.offset + p.length)); // exclusive
      if (end === start) {
        cut(new Uint8Array(0), start);
        return;
      }
      const controller = new AbortController();
      const onAbort = () => controller.abort();
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        // Past the HTTP cache: browsers serialise requests for one URL through it (Chromium's cache
        // lock), so the ranges of one part would arrive one after another; the worker keeps what
        // it fetched in memory, and whole parts in Cache Storage.
        const response = await this.#request(url, { headers: { Range: `bytes=${start}-${end - 1}` }, cache: 'no-store', signal: controller.signal }, file);
        if (response.status === 206) {
          const total = /\/(\d+)\s*$/.exec(response.headers.get('Content-Range') || '');
          if (total && Number(total[1]) !== partBytes) {
            throw new Error(`the server says the part has ${total[1]} bytes, the manifest says ${partBytes}`);
          }
          const bytes = await this.#read(response, end - start, progress, true);
          cut(bytes, start);
        } else if (response.status === 200) {
          // The server ignores Range: the whole part, if that is reasonable, kept for later pieces.
          this.rangeIgnored = true;
          if (partBytes > this.maxWholePartBytes) {
            controller.abort();
            throw new Error(`the server ignores Range requests, and fetching the whole ${(partBytes / 1e6).toFixed(0)} MB part instead is off`);
          }
          const whole = await this.#read(response, partBytes, progress, true);
          this.wholeParts.set(file, whole);
          cut(whole, 0);
        } else {
          throw new Error(`HTTP ${response.status}`);
        }
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
    } catch (e) {
      for (const p of group) results.set(p.key, { error: partError(file, e) });
    }
  }

  async #request(url, init, what) {
    this.requests++;
    try {
      return await fetch(url, init);
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      throw new SimsongError(ErrorCode.NETWORK, `the network failed while fetching ${what} (${e.message})`, { url: String(url) });
    }
  }

  // Reads a body with progress and a stall timer; `expected` bytes exactly when given (with
  // `exact`, fewer bytes are an error too; otherwise the caller checks).
  async #read(response, expected, progress, exact = true) {
    const declared = Number(response.headers.get('Content-Length'));
    if (expected != null && declared && declared > expected) {
      response.body?.cancel().catch(() => {});
      throw new Error(`the server announces ${declared} bytes, the manifest ${expected}`);
    }
    const reader = response.body.getReader();
    const chunks = [];
    let size = 0;
    let timer;
    let rejectStall;
    const stalled = new Promise((_, reject) => (rejectStall = reject));
    stalled.catch(() => {});
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        reader.cancel().catch(() => {});
        rejectStall(new SimsongError(ErrorCode.STALLED, `no data for ${Math.round(this.stallMs / 1000)} s`, { url: response.url, seconds: this.stallMs / 1000 }));
      }, this.stallMs);
    };
    arm();
    try {
      for (;;) {
        let step;
        try {
          step = await Promise.race([reader.read(), stalled]);
        } catch (e) {
          // A connection that closes early shows up as a network error while reading.
          if (expected != null && size < expected && !hasCode(e, ErrorCode.STALLED)) {
            throw new SimsongError(ErrorCode.TRUNCATED, `truncated: the connection closed after ${size} of ${expected} bytes`, {
              url: response.url,
              received: size,
              expected,
            });
          }
          throw e;
        }
        const { done, value } = step;
        if (done) break;
        arm();
        size += value.length;
        this.bytesFetched += value.length;
        if (expected != null && size > expected) {
          reader.cancel().catch(() => {});
          throw new Error(`more bytes arrived than the manifest's ${expected}`);
        }
        chunks.push(value);
        progress(value.length);
      }
    } finally {
      clearTimeout(timer);
    }
    if (expected != null && exact && size !== expected) {
      throw new SimsongError(ErrorCode.TRUNCATED, `truncated: ${size} bytes arrived where ${expected} were expected`, { url: response.url, received: size, expected });
    }
    if (chunks.length === 1) return chunks[0];
    const out = new Uint8Array(size);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

// Range pieces of one file, sorted, grouped so that each group is one request.
export function mergeRanges(pieces) {
  const sorted = [...pieces].sort((a, b) => a.offset - b.offset);
  const groups = [];
  for (const p of sorted) {
    const group = groups[groups.length - 1];
    const groupEnd = group && Math.max(...group.map((g) => g.offset + g.length));
    if (group && p.offset - groupEnd <= MERGE_GAP_BYTES && p.offset + p.length - group[0].offset <= MAX_MERGED_BYTES) {
      group.push(p);
    } else {
      groups.push([p]);
    }
  }
  return groups;
}

function partError(file, e) {
  const why = e?.name === 'AbortError' ? 'the request was cancelled' : e?.message || String(e);
  return `catalog part ${file}: ${why}`;
}

async function runLimited(jobs, limit) {
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) await jobs[next++]();
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
}

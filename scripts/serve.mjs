// Static server for the demo: serves the repository's public folders on localhost with the
// strict Content-Security-Policy the widget must work under, byte ranges (`Range: bytes=a-b`,
// as a CDN does), and the cache headers a published index wants: parts are named by their
// checksum and cached for good, the manifest (index.json) is revalidated every time.
//
// Tests can inject faults (`faults`, see startServer): a status, a truncated body, a server that
// ignores Range, a slow or stalled body, other bytes.
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { createSecureServer } from 'node:http2';
import { closeSync, createReadStream, existsSync, mkdirSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(import.meta.url), '../..');
const PORT = Number(process.env.PORT || 8080);
const HOST = process.env.HOST || '127.0.0.1';
// Only these top-level paths are public; everything else (sources, caches) is not served.
const PUBLIC = ['index.html', 'www/', 'demo/', 'dist/', 'pkg/', 'models/', 'demo-data/', 'tests/fixtures/'];
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.bin': 'application/octet-stream',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ogg': 'audio/ogg',
  '.mp3': 'audio/mpeg',
  '.wav': 'audio/wav',
  '.flac': 'audio/flac',
  '.m4a': 'audio/mp4',
};
export const CSP = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "media-src 'self' blob:",
  "worker-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
].join('; ');

// The app's own files go out compressed when the browser accepts it, as from a CDN: Brotli or
// gzip from the copies `scripts/precompress.mjs` wrote beside them (FILE.br, FILE.gz) while
// they are newer than the file, else gzip made here at the same level 9 (made once per file and
// kept, so a page's byte counts do not depend on which way it came). Chromium asks for Brotli over HTTPS and
// from localhost (a secure context), not over plain HTTP from another host. Catalog parts and manifests go out as they are: their byte
// counts are what the index benchmarks measure, and parts are read in byte ranges.
const COMPRESSED = new Set(['.wasm', '.js', '.mjs', '.css', '.html', '.tar']);
const gzipped = new Map(); // file → { mtimeMs, size, bytes: Promise<Buffer> }
/** Whether FILE.ext (`br`, `gz`) exists and is at least as new as FILE. */
function precompressed(file, stat, ext) {
  try {
    return statSync(`${file}.${ext}`).mtimeMs >= stat.mtimeMs;
  } catch {
    return false;
  }
}
function gzipOf(file, stat) {
  const hit = gzipped.get(file);
  if (hit && hit.mtimeMs === stat.mtimeMs && hit.size === stat.size) return hit.bytes;
  const bytes = promisify(gzip)(readFileSync(file), { level: 9 });
  gzipped.set(file, { mtimeMs: stat.mtimeMs, size: stat.size, bytes });
  return bytes;
}

// `mounts` ({ 'prefix/': '/abs/dir' }, first match wins; '' mounts a folder at the root) publishes extra folders, e.g. a catalog that a test built
// in a temporary folder. `faults(path, req)` may return, for one request:
//   { status }            answer with that status and no body
//   { truncate: n }       send only the first n bytes of the body (and close)
//   { ignoreRange: true } answer 200 with the whole file, as servers without Range support do
//   { bytesPerSecond: n } send the body slowly
//   { stall: true }       send the headers, then nothing
//   { body: Buffer }      send these bytes instead of the file's (headers as for the file)
// `requests` (an array) records `{ path, range, status, bytes, at }` of every answer (`at`:
// Date.now() when its last byte was handed to the network). `inject` (a
// same-origin script URL) is put first in <head> of every HTML page: the cross-engine tests load
// their page probe that way, as WebDriver classic has no init scripts.
// `link` ({ bytesPerSecond, rttMs }) emulates a visitor's network for the benchmarks, here at the
// server, so that the worker's fetches are shaped too: every answer starts one round trip after
// its request (on a new connection, one more for TCP's handshake, and one more for TLS 1.3's
// under `http2`), and all bodies share one downlink.
// `http2: true` serves HTTP/2 over TLS (as CDNs serve static sites: one connection per origin,
// every request multiplexed on it) with a self-signed certificate for 127.0.0.1 made once by
// openssl: the browser must be told to accept it (Chromium: --ignore-certificate-errors).
export function startServer(port = PORT, host = HOST, { mounts = {}, faults = () => null, requests = null, inject = null, link = null, http2 = false } = {}) {
  const shaper = link && new LinkShaper(link, http2 ? 3 : 2);
  const handler = async (req, res) => {
    const arrived = Date.now(); // when the request reached the server (answers are recorded when done)
    const url = new URL(req.url, 'http://localhost');
    let path;
    try {
      path = decodeURIComponent(url.pathname).replace(/^\/+/, '');
    } catch {
      res.writeHead(400).end('bad request');
      return;
    }
    if (path === '') path = 'index.html';
    const safe = normalize(path);
    const mount = Object.keys(mounts).find((p) => safe.startsWith(p));
    if (safe.startsWith('..') || (mount === undefined && !PUBLIC.some((p) => safe === p || safe.startsWith(p)))) {
      res.writeHead(404).end('not found');
      return;
    }
    const file = mount !== undefined ? join(mounts[mount], safe.slice(mount.length)) : join(ROOT, safe);
    let stat;
    try {
      stat = statSync(file);
    } catch {
      res.writeHead(404).end('not found');
      return;
    }
    if (!stat.isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    const fault = { ...faults(safe, req) };
    if (inject && extname(file) === '.html' && !fault.body) {
      fault.body = Buffer.from(readFileSync(file, 'utf8').replace('<head>', `<head>\n<script src="${inject}"></script>`));
    }
    const record = (status, bytes) => requests?.push({ path: safe, range: req.headers.range || null, status, bytes, started: arrived, at: Date.now() });
    if (fault.status) {
      record(fault.status, 0);
      res.writeHead(fault.status, { 'Content-Security-Policy': CSP }).end();
      return;
    }
    // A validator, as a CDN sends: a file asked for again (the page and the worker each import
    // a shared module; a returning visitor revalidates `no-cache` files) costs a 304, not its
    // bytes.
    const etag = `"${stat.size.toString(36)}-${Math.round(stat.mtimeMs).toString(36)}"`;
    if (!fault.body && Object.keys(fault).length === 0 && req.headers['if-none-match'] === etag) {
      record(304, 0);
      res.writeHead(304, { ETag: etag, 'Content-Security-Policy': CSP }).end();
      return;
    }
    const headers = {
      ETag: etag,
      'Content-Type': TYPES[extname(file)] || 'application/octet-stream',
      'Content-Security-Policy': CSP,
      'X-Content-Type-Options': 'nosniff',
      // Parts of a published index never change under their name (it is their checksum).
      'Cache-Control': /(^|\/)parts\/[a-z]+-[0-9a-f]{20}\.bin$/.test(safe) ? 'public, max-age=31536000, immutable' : 'no-cache',
      // Byte ranges let the audio element seek (playback starts at the best-matching segment)
      // and pages fetch re-ranking rows and segments of a published index piece by piece.
      'Accept-Ranges': fault.ignoreRange ? 'none' : 'bytes',
    };
    const accepts = req.headers['accept-encoding'] || '';
    const encoding = /\bbr\b/.test(accepts) && precompressed(file, stat, 'br') ? 'br' : /\bgzip\b/.test(accepts) ? 'gzip' : null;
    if (!fault.body && Object.keys(fault).length === 0 && COMPRESSED.has(extname(file)) && !req.headers.range && encoding) {
      let bytes;
      try {
        bytes = encoding === 'br' ? readFileSync(`${file}.br`) : precompressed(file, stat, 'gz') ? readFileSync(`${file}.gz`) : await gzipOf(file, stat);
      } catch {
        gzipped.delete(file);
        res.writeHead(500).end('cannot read the file');
        return;
      }
      const head = { ...headers, 'Content-Encoding': encoding, Vary: 'Accept-Encoding', 'Content-Length': bytes.length };
      if (shaper) {
        await shaper.send(req, res, 200, head, bytes);
        record(200, bytes.length);
        return;
      }
      record(200, bytes.length);
      res.writeHead(200, head);
      res.end(bytes);
      return;
    }
    const size = fault.body ? fault.body.length : stat.size;
    let start = 0;
    let end = size - 1;
    let status = 200;
    const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range || '');
    if (range && (range[1] || range[2]) && !fault.ignoreRange) {
      start = range[1] ? Number(range[1]) : Math.max(0, size - Number(range[2]));
      end = range[1] && range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
      if (start > end || start >= size) {
        record(416, 0);
        res.writeHead(416, { 'Content-Range': `bytes */${size}` }).end();
        return;
      }
      status = 206;
      headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
    }
    const length = end - start + 1;
    if (shaper && !fault.body && Object.keys(fault).length === 0) {
      const bytes = readRange(file, start, length);
      await shaper.send(req, res, status, { ...headers, 'Content-Length': length }, bytes);
      record(status, length);
      return;
    }
    res.writeHead(status, { ...headers, 'Content-Length': length });
    const sent = fault.truncate != null ? Math.min(fault.truncate, length) : length;
    record(status, sent);
    if (fault.stall) return; // headers only; the client gives up
    const body = fault.body ? fault.body.subarray(start, start + sent) : null;
    if (fault.bytesPerSecond) {
      sendSlowly(res, body || readRange(file, start, sent), fault.bytesPerSecond);
    } else if (body) {
      res.end(body);
    } else if (sent === 0) {
      res.end();
    } else {
      const stream = createReadStream(file, { start, end: start + sent - 1 });
      // A truncated answer: the connection closes before the announced length.
      if (sent < length) stream.on('end', () => res.destroy());
      stream.pipe(res, { end: sent === length });
    }
  };
  const server = http2 ? createSecureServer({ ...selfSignedCertificate(), allowHTTP1: true }, handler) : createServer(handler);
  return new Promise((ok) => server.listen(port, host, () => ok(server)));
}

// A key and self-signed certificate for 127.0.0.1 and localhost, made once (bench/out/tls/).
function selfSignedCertificate() {
  const dir = join(ROOT, 'bench/out/tls');
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  if (!existsSync(key) || !existsSync(cert)) {
    mkdirSync(dir, { recursive: true });
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '3650',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    );
  }
  return { key: readFileSync(key), cert: readFileSync(cert) };
}

// One emulated downlink shared by every answer (see startServer's `link`).
class LinkShaper {
  #freeAt = 0; // when the link has sent everything queued so far (ms, Date.now())
  #connections = new WeakSet(); // connections that have seen their handshakes' round trips

  /** `firstTrips`: round trips before the first answer on a new connection (its own included). */
  constructor({ bytesPerSecond, rttMs }, firstTrips = 2) {
    this.bytesPerSecond = bytesPerSecond;
    this.rttMs = rttMs;
    this.firstTrips = firstTrips;
  }

  /** Answers after the round trip(s), then sends `bytes` at the link's pace, 16 kB at a time. */
  async send(req, res, status, headers, bytes) {
    // An HTTP/2 request's `socket` is a per-stream proxy: its session is the connection.
    const connection = req.stream?.session ?? req.socket;
    const trips = this.#connections.has(connection) ? 1 : this.firstTrips;
    this.#connections.add(connection);
    await sleep(trips * this.rttMs);
    res.writeHead(status, headers);
    const slice = 16 * 1024;
    for (let at = 0; at < bytes.length && !res.destroyed; at += slice) {
      const chunk = bytes.subarray(at, at + slice);
      const start = Math.max(Date.now(), this.#freeAt);
      this.#freeAt = start + (1000 * chunk.length) / this.bytesPerSecond;
      await sleep(this.#freeAt - Date.now());
      res.write(chunk);
    }
    res.end();
  }
}

// `length` bytes of `file` from `start`, read alone (index parts run to gigabytes).
function readRange(file, start, length) {
  const bytes = Buffer.alloc(Math.max(0, length));
  const fd = openSync(file, 'r');
  try {
    let at = 0;
    while (at < bytes.length) {
      const n = readSync(fd, bytes, at, bytes.length - at, start + at);
      if (n === 0) break;
      at += n;
    }
    return bytes.subarray(0, at);
  } finally {
    closeSync(fd);
  }
}

const sleep = (ms) => new Promise((ok) => setTimeout(ok, Math.max(0, ms)));

// Writes `bytes` in 10 slices a second, `bytesPerSecond` in all.
function sendSlowly(res, bytes, bytesPerSecond) {
  const slice = Math.max(1, Math.round(bytesPerSecond / 10));
  let at = 0;
  const timer = setInterval(() => {
    if (res.destroyed) {
      clearInterval(timer);
      return;
    }
    res.write(bytes.subarray(at, at + slice));
    at += slice;
    if (at >= bytes.length) {
      clearInterval(timer);
      res.end();
    }
  }, 100);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const server = await startServer();
  const { port } = server.address();
  console.log(`demo at http://${HOST === '127.0.0.1' ? 'localhost' : HOST}:${port}/  (Ctrl-C to stop)`);
}

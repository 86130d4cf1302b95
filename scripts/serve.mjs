// Static server for the demo: serves the repository's public folders on localhost with the
// strict Content-Security-Policy the widget must work under.
import { createServer } from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(import.meta.url), '../..');
const PORT = Number(process.env.PORT || 8080);
const HOST = process.env.HOST || '127.0.0.1';
// Only these top-level paths are public; everything else (sources, caches) is not served.
const PUBLIC = ['index.html', 'www/', 'pkg/', 'models/', 'demo-data/', 'tests/fixtures/'];
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

// `mounts` ({ 'prefix/': '/abs/dir' }) publishes extra folders, e.g. a catalog that a test built
// in a temporary folder.
export function startServer(port = PORT, host = HOST, { mounts = {} } = {}) {
  const server = createServer((req, res) => {
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
    if (safe.startsWith('..') || (!mount && !PUBLIC.some((p) => safe === p || safe.startsWith(p)))) {
      res.writeHead(404).end('not found');
      return;
    }
    const file = mount ? join(mounts[mount], safe.slice(mount.length)) : join(ROOT, safe);
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
    const headers = {
      'Content-Type': TYPES[extname(file)] || 'application/octet-stream',
      'Content-Security-Policy': CSP,
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': 'no-cache',
      // Byte ranges let the audio element seek (playback starts at the best-matching segment).
      'Accept-Ranges': 'bytes',
    };
    const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range || '');
    if (range && (range[1] || range[2])) {
      const start = range[1] ? Number(range[1]) : Math.max(0, stat.size - Number(range[2]));
      const end = range[1] && range[2] ? Math.min(Number(range[2]), stat.size - 1) : stat.size - 1;
      if (start > end || start >= stat.size) {
        res.writeHead(416, { 'Content-Range': `bytes */${stat.size}` }).end();
        return;
      }
      res.writeHead(206, { ...headers, 'Content-Range': `bytes ${start}-${end}/${stat.size}`, 'Content-Length': end - start + 1 });
      createReadStream(file, { start, end }).pipe(res);
      return;
    }
    res.writeHead(200, { ...headers, 'Content-Length': stat.size });
    createReadStream(file).pipe(res);
  });
  return new Promise((ok) => server.listen(port, host, () => ok(server)));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const server = await startServer();
  const { port } = server.address();
  console.log(`demo at http://${HOST === '127.0.0.1' ? 'localhost' : HOST}:${port}/  (Ctrl-C to stop)`);
}

// The demo server sends what a CDN with precompressed files sends: Brotli from FILE.br where the
// client asks for it and the copy is as new as the file, gzip otherwise (from FILE.gz, or made
// on the fly), the file as it is to a client that accepts neither.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync, utimesSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { startServer } from '../../scripts/serve.mjs';
import { tempDir } from '../temp-dir.mjs';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
let dir;
let server;
const script = `export const words = ${JSON.stringify(Array.from({ length: 2000 }, (_, i) => `word${i % 97}`))};\n`;

before(async () => {
  dir = tempDir('simsong-serve-');
  writeFileSync(join(dir, 'a.js'), script);
  execFileSync(process.execPath, [join(ROOT, 'scripts/precompress.mjs'), join(dir, 'a.js')], { stdio: 'pipe' });
  server = await startServer(0, '127.0.0.1', { mounts: { 'm/': dir } });
});
after(() => {
  server?.closeAllConnections?.();
  server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function get(path, acceptEncoding) {
  return new Promise((ok, fail) => {
    const req = http.get({ host: '127.0.0.1', port: server.address().port, path, agent: false, headers: acceptEncoding ? { 'Accept-Encoding': acceptEncoding } : {} }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => ok({ encoding: res.headers['content-encoding'] ?? null, body: Buffer.concat(chunks) }));
    });
    req.on('error', fail);
  });
}

test('Brotli where asked for and fresh, gzip otherwise, plain bytes to a client that takes neither', async () => {
  const br = await get('/m/a.js', 'gzip, deflate, br');
  assert.equal(br.encoding, 'br');
  assert.equal(brotliDecompressSync(br.body).toString(), script);
  assert.ok(br.body.length < script.length / 4, `${br.body.length} bytes of Brotli for ${script.length}`);

  const gz = await get('/m/a.js', 'gzip, deflate');
  assert.equal(gz.encoding, 'gzip');
  assert.equal(gunzipSync(gz.body).toString(), script);

  const plain = await get('/m/a.js', null);
  assert.equal(plain.encoding, null);
  assert.equal(plain.body.toString(), script);
});

test('a copy older than its file is not served: the file changed since it was compressed', async () => {
  const changed = script.replace('word1', 'WORD1');
  writeFileSync(join(dir, 'a.js'), changed);
  const later = new Date(Date.now() + 60_000);
  utimesSync(join(dir, 'a.js'), later, later);
  const res = await get('/m/a.js', 'gzip, deflate, br');
  assert.equal(res.encoding, 'gzip', 'made on the fly from the new file');
  assert.equal(gunzipSync(res.body).toString(), changed);
});

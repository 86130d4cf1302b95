#!/usr/bin/env node
// Writes the compressed copies a store's CDN serves beside each shipped asset: FILE.br (Brotli,
// quality 11) and FILE.gz (gzip, level 9), as nginx's `brotli_static`/`gzip_static` or a
// CDN's precompressed objects expect. Brotli at its slowest setting is too slow to run per
// request (about 20 s for the analysis module) but is what every current browser accepts over
// HTTPS: the analysis module is ~30% smaller than gzip makes it.
//
//   node scripts/precompress.mjs [FILE...]     default: the package's wasm, scripts and the model
//
// scripts/serve.mjs serves a copy only while it is newer than its file, so a rebuild without
// this step falls back to compressing on the fly.
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const ROOT = resolve(fileURLToPath(import.meta.url), '../..');
const DEFAULTS = [
  'pkg/simsong_search_bg.wasm',
  'pkg/simsong_search.js',
  'pkg/simsong_bg.wasm',
  'pkg/simsong_relaxed_bg.wasm',
  'pkg/simsong.js',
  'dist/similar-songs.js',
  'dist/similar-songs.css',
  'dist/engine-worker.js',
  'models/simsong.nnef.tar',
];

const files = process.argv.length > 2 ? process.argv.slice(2).map((f) => resolve(f)) : DEFAULTS.map((f) => join(ROOT, f));
for (const file of files) {
  if (!existsSync(file)) continue;
  const bytes = readFileSync(file);
  const mtime = statSync(file).mtimeMs;
  const fresh = (copy) => existsSync(copy) && statSync(copy).mtimeMs >= mtime;
  const sizes = [];
  if (!fresh(`${file}.br`)) {
    const br = brotliCompressSync(bytes, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: 11,
        [constants.BROTLI_PARAM_LGWIN]: 24,
        [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
      },
    });
    writeFileSync(`${file}.br`, br);
  }
  if (!fresh(`${file}.gz`)) writeFileSync(`${file}.gz`, gzipSync(bytes, { level: 9 }));
  sizes.push(statSync(`${file}.br`).size, statSync(`${file}.gz`).size);
  console.error(`${relative(ROOT, file)}: ${bytes.length} bytes, ${sizes[0]} brotli, ${sizes[1]} gzip`);
}

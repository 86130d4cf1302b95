// `npm pack` ships everything the element loads, bundled (dist/, what the package's main entry
// is) and as sources (www/, for a store's own bundler): every module it imports (statically,
// dynamically or via `new URL('…', import.meta.url)`, like its worker, stylesheet and the wasm),
// and its types.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ENGINE_FILES } from '../../www/engine-build.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');

function loadedBy(file, seen = new Set()) {
  if (seen.has(file)) return seen;
  seen.add(file);
  if (!file.endsWith('.js')) return seen;
  const text = readFileSync(file, 'utf8');
  // Sources quote with ', the minified bundles with ".
  const refs = [...text.matchAll(/(?:from|import)\s*\(?\s*['"](\.[^'"]+)['"]|new URL\(['"]([\w.][^'":]*)['"],\s*import\.meta\.url\)/g)];
  // (A folder, such as the engine's `../pkg/`, is checked through the files named in it.)
  for (const [, a, b] of refs) if (!(a || b).endsWith('/')) loadedBy(resolve(dirname(file), a || b), seen);
  return seen;
}

test('npm pack ships every file the element loads', { skip: !existsSync(join(ROOT, 'dist/engine-worker.js')) && 'pkg/ and dist/ not built' }, () => {
  const [pack] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] }));
  const packed = new Set(pack.files.map((f) => f.path));
  const needed = [...loadedBy(join(ROOT, 'dist/similar-songs.js')), ...loadedBy(join(ROOT, 'www/similar-songs.js'))].map((f) => relative(ROOT, f));
  for (const f of [
    'pkg/simsong_search_bg.wasm',
    'pkg/simsong_search.js',
    'pkg/simsong.js',
    'pkg/simsong_bg.wasm',
    'www/similar-songs.css',
    'www/engine-worker.js',
    'dist/similar-songs.css',
    'dist/engine-worker.js',
  ]) {
    assert.ok(needed.includes(f), `${f} is found by the scan`);
  }
  // The worker bundle holds the search glue and imports the analysis glue only on demand.
  const worker = readFileSync(join(ROOT, 'dist/engine-worker.js'), 'utf8');
  assert.ok(worker.includes('import("../pkg/simsong.js")') && !/from\s*["']\.\.\/pkg\/simsong_search\.js/.test(worker));
  // Both engine builds (engine-client.js picks one by name).
  const builds = Object.values(ENGINE_FILES).map((f) => `pkg/${f}`);
  assert.equal(builds.length, 2);
  for (const f of [...needed, ...builds, 'www/similar-songs.d.ts', 'dist/similar-songs.d.ts']) assert.ok(packed.has(f), `${f} is in the package`);
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  assert.equal(pkg.exports['.'].default, './dist/similar-songs.js');
  assert.equal(pkg.exports['./source'].default, './www/similar-songs.js');
  assert.equal(pkg.types, './dist/similar-songs.d.ts');
});

#!/usr/bin/env node
// Bundles the element and its worker into one file each (dist/), so a page fetches two scripts
// instead of about thirty modules imported one level at a time: on a phone's 4G, through the six
// connections HTTP/1.1 gives a host, those imports alone took 0.6 s before the first result
// (docs/first-result.md). The sources in www/ stay what a store's own bundler imports.
//
//   node scripts/bundle.mjs            # dist/similar-songs.js, dist/engine-worker.js, dist/similar-songs.css
//
// dist/ sits beside pkg/ as www/ does, so the `new URL('../pkg/…', import.meta.url)` and
// `new URL('./…', import.meta.url)` in the sources resolve the same from either folder (esbuild
// leaves them as written). The analysis glue (`pkg/simsong.js`) stays its own file: the worker
// imports it only when a visitor brings a song, with the analysis module and the model.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(import.meta.url), '../..');
const OUT = join(ROOT, 'dist');
mkdirSync(OUT, { recursive: true });

// wasm-bindgen's glue finds its module beside itself (`new URL('x_bg.wasm', import.meta.url)`);
// bundled into dist/, "beside" is pkg/ seen from dist/. (The worker passes the URL anyway.)
function searchGlueFromDist() {
  return {
    name: 'search-glue-from-dist',
    setup(b) {
      b.onLoad({ filter: /pkg[\\/]simsong_search\.js$/ }, ({ path }) => {
        const text = readFileSync(path, 'utf8');
        const fixed = text.replaceAll("new URL('simsong_search_bg.wasm', import.meta.url)", "new URL('../pkg/simsong_search_bg.wasm', import.meta.url)");
        if (fixed === text) throw new Error(`${path}: wasm-bindgen's module URL is not where this plugin expects it`);
        return { contents: fixed, loader: 'js' };
      });
    },
  };
}

const result = await build({
  absWorkingDir: ROOT,
  entryPoints: ['www/similar-songs.js', 'www/engine-worker.js'],
  outdir: OUT,
  bundle: true,
  format: 'esm',
  // Browsers with module workers, wasm SIMD and top-level await (what the element needs anyway).
  target: ['chrome91', 'firefox114', 'safari16.4'],
  minify: true,
  sourcemap: 'linked',
  legalComments: 'none',
  external: ['../pkg/simsong.js'],
  plugins: [searchGlueFromDist()],
  metafile: true,
  logLevel: 'warning',
});
copyFileSync(join(ROOT, 'www/similar-songs.css'), join(OUT, 'similar-songs.css'));
copyFileSync(join(ROOT, 'www/similar-songs.d.ts'), join(OUT, 'similar-songs.d.ts'));

// What went into each bundle, for a reader who wonders why a file is the size it is.
const inputs = {};
for (const [file, out] of Object.entries(result.metafile.outputs)) {
  if (file.endsWith('.js')) inputs[file.replace(/^dist\//, '')] = { bytes: out.bytes, inputs: Object.keys(out.inputs).sort() };
}
writeFileSync(join(OUT, 'bundles.json'), `${JSON.stringify(inputs, null, 1)}\n`);
for (const [file, { bytes }] of Object.entries(inputs)) console.error(`dist/${file}: ${bytes} bytes`);

// The worker must import the analysis glue on demand, not hold it (it would cost every
// "Similar" ~30 kB).
if (!readFileSync(join(OUT, 'engine-worker.js'), 'utf8').includes('import("../pkg/simsong.js")')) {
  throw new Error('the worker bundle does not import ../pkg/simsong.js on demand');
}

// A store's own front-end build consumes the npm package: `npm pack` of this repository,
// installed with Vite (from the npm registry) into a fresh app whose only code is
// `import 'simsong'`, built by Vite, served with the strict CSP, and run in Chromium. The worker
// and both wasm builds must be found, bundled and addressed by the bundler (they are referenced
// as literal `new URL('…', import.meta.url)`), and search and file analysis must work.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer } from '../../scripts/serve.mjs';
import { buildCatalog, MODEL, ROOT } from './catalog.mjs';
import { ARTIFACTS, CHROMIUM_ARGS, newPage } from './harness.mjs';
import { chromium } from 'playwright-core';
import { tempDir } from '../temp-dir.mjs';

const skip = !process.env.SIMSONG_BIN && 'SIMSONG_BIN (the native CLI) is needed to build the test catalog';
// The bundler a store would use, pinned so that the test is repeatable.
const VITE = 'vite@8.4.0';
const el = 'similar-songs';
let env;
let assets;
const requests = []; // every answer of the server: { path, range, status, bytes }

before(async () => {
  if (skip) return;
  const app = tempDir('simsong-vite-app-');
  // The package as a store gets it (the wasm builds already made by scripts/build-wasm.sh).
  const packed = JSON.parse(execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', app], { cwd: ROOT, encoding: 'utf8' }));
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'store-app', private: true, type: 'module' }));
  writeFileSync(
    join(app, 'index.html'),
    `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>A store</title><link rel="icon" href="data:,"><script type="module" src="/main.js"></script></head>
<body><h1>Music for your video</h1>
<similar-songs browse k="10" index="/catalog/index.json" model="/${MODEL}"></similar-songs></body>
</html>
`,
  );
  writeFileSync(join(app, 'main.js'), "import 'simsong';\n");
  // The engine's worker imports modules (an ES worker): the one setting a store needs.
  writeFileSync(join(app, 'vite.config.js'), "export default { worker: { format: 'es' } };\n");
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', `./${packed[0].filename}`, VITE], { cwd: app, stdio: 'pipe' });
  execFileSync('npx', ['vite', 'build'], { cwd: app, stdio: 'pipe' });
  assets = readdirSync(join(app, 'dist/assets'));
  const catalogDir = tempDir('simsong-vite-catalog-');
  buildCatalog(catalogDir);
  // The built app at the root; the catalog and the model beside it, as a store hosts them.
  const server = await startServer(0, '127.0.0.1', {
    mounts: { 'catalog/': join(catalogDir, 'catalog'), 'models/': join(ROOT, 'models'), 'tests/': join(ROOT, 'tests'), '': join(app, 'dist') },
    requests,
  });
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: CHROMIUM_ARGS });
  env = {
    origin: `http://127.0.0.1:${server.address().port}`,
    browser,
    close: async () => {
      await browser.close();
      await new Promise((ok) => server.close(ok));
    },
  };
});
after(() => env?.close());

test('a Vite-built store app runs the packed element: worker and wasm bundled, search and analysis work under the CSP', { skip }, async () => {
  // Vite found the worker, the search module and both analysis builds through their literal URLs.
  assert.ok(
    assets.some((f) => /^engine-worker-.*\.js$/.test(f)),
    `the worker is bundled: ${assets}`,
  );
  assert.ok(
    assets.some((f) => /^simsong_search_bg-.*\.wasm$/.test(f)),
    `the search module: ${assets}`,
  );
  assert.ok(assets.some((f) => /^simsong_relaxed_bg-.*\.wasm$/.test(f)) && assets.some((f) => /^simsong_bg-.*\.wasm$/.test(f)), `both wasm builds: ${assets}`);

  const page = await newPage(env);
  await page.goto(env.origin);
  assert.equal((await page.nthEvent('ready')).tracks, 8);
  await page.locator(`${el} >> .row:has-text("Menu theme") >> .similar`).first().click();
  const results = await page.nthEvent('results');
  assert.equal(results.reference, 'menu');
  assert.equal(results.ids[0], 'menu-flac');
  // A search by catalog track loads the bundled search module, not the analyser or the model
  // (the server sees the worker's fetches too).
  const paths = () => requests.map((r) => r.path);
  assert.ok(
    paths().some((p) => /^assets\/simsong_search_bg-.*\.wasm$/.test(p)),
    `the bundled search module loads: ${paths()}`,
  );
  assert.ok(!paths().some((p) => /^assets\/simsong(_relaxed)?_bg-.*\.wasm$/.test(p) || p.startsWith('models/')), `no analyser yet: ${paths()}`);

  await page.setInputFiles(`${el} >> .drop input[type=file]`, join(ROOT, 'tests/fixtures/audio/real_music_b_16k.wav'));
  const file = await page.nthEvent('results', 2);
  assert.equal(file.ids[0], 'lugaru', 'the file is analysed by the bundled worker and finds itself');
  assert.equal((await page.nthEvent('modelready')).engineBuild, 'relaxed-simd');
  assert.ok(
    paths().some((p) => /^assets\/simsong_relaxed_bg-.*\.wasm$/.test(p)),
    `the bundled analyser is what loads: ${paths()}`,
  );
  await page.screenshot({ path: join(ARTIFACTS, 'vite-store-app.png'), fullPage: true });
  assert.deepEqual(page.problems, []);
  assert.deepEqual(await page.cspViolations(), [], 'the strict CSP holds for the bundled app');
  await page.context().close();
});

// What a visitor's browser fetches before the first result list, counted at the server (a
// page-level DevTools session does not see the worker's fetches), on a page throttled to 4G
// (9 Mbps, 60 ms) through the DevTools protocol: the fetch plan of a search by catalog track
// (which files, in which order, how many bytes on the wire), and that the song analyser (the
// analysis module and the model: megabytes) loads only once a visitor starts to bring a song.
// Times are for the benchmark (bench/first-result), not for tests.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { MODEL, ROOT, demoUrl, newPage, setUp } from './harness.mjs';

const skip = !process.env.SIMSONG_BIN && 'SIMSONG_BIN (the native CLI) is needed to build the test catalog';
const requests = []; // every answer of the server: { path, range, status, bytes }
let env;

before(async () => {
  if (!skip) env = await setUp({ requests });
});
after(() => env?.close());

/** The search module's ceiling on the wire (gzip): what every page pays before any search. */
const SEARCH_MODULE_MAX_BYTES = 150_000;
/** Everything a "Similar" fetches before its first result on the fixture catalog (8 tracks). */
const FIRST_RESULT_MAX_BYTES = 300_000;
const ANALYSER = /^pkg\/simsong(_relaxed)?(_bg\.wasm|\.js)$/;

async function throttleTo4G(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: 60,
    downloadThroughput: 9e6 / 8,
    uploadThroughput: 9e6 / 8,
  });
}

test('"Similar" on a catalog track fetches the search module and the parts it reads, not the analyser', { skip }, async () => {
  const page = await newPage(env);
  await throttleTo4G(page);
  requests.length = 0;
  await page.goto(demoUrl(env, '&like=menu'));
  const results = await page.nthEvent('results');
  assert.equal(results.ids[0], 'menu-flac');
  const before = requests.slice();
  const paths = before.map((r) => r.path);

  // Nothing of the analyser: no analysis module, no model.
  assert.deepEqual(
    paths.filter((p) => ANALYSER.test(p) || p === MODEL),
    [],
    'the analyser is not fetched',
  );
  const search = before.filter((r) => r.path === 'pkg/simsong_search_bg.wasm');
  assert.equal(search.length, 1, 'the search module, once');
  assert.ok(search[0].bytes <= SEARCH_MODULE_MAX_BYTES, `search module: ${search[0].bytes} bytes on the wire`);
  // The scripts: the demo's own, then one bundle for the element and one for its worker (the
  // search glue inside it), not the ~30 source modules one import level at a time.
  const scripts = paths.filter((p) => /\.m?js$/.test(p));
  assert.deepEqual(scripts.sort(), ['demo/demo.js', 'dist/engine-worker.js', 'dist/similar-songs.js'], `the scripts fetched: ${scripts.join(' ')}`);

  // The catalog's pieces, in the order a search needs them: the manifest, the reference's id
  // bucket, its neighbour list, then the hits' metadata, all by range (the list holds each hit's
  // closest segment). No quantiser, codes or filters, no re-ranking or segment rows: the lists
  // answer without them (the rest of the index loads once the page is idle).
  const first = (re) => paths.findIndex((p) => re.test(p));
  const order = [/^e2e\/catalog\/index\.json$/, /^e2e\/catalog\/parts\/ids-/, /^e2e\/catalog\/parts\/neighbours-/, /^e2e\/catalog\/parts\/meta-/];
  const at = order.map(first);
  assert.ok(
    at.every((i) => i >= 0),
    `every piece is fetched: ${paths.join(' ')}`,
  );
  assert.deepEqual(
    at,
    [...at].sort((a, b) => a - b),
    `in order: ${paths.join(' ')}`,
  );
  assert.deepEqual(
    paths.filter((p) => /parts\/(quantizer|codes|filters|rerank|segments)-/.test(p)),
    [],
    'no codes, no rows before the first result',
  );
  const ranges = before.filter((r) => /parts\/(ids|neighbours|meta)-/.test(r.path));
  assert.ok(ranges.length >= 3 && ranges.every((r) => r.status === 206 && r.range), `every catalog piece by range: ${ranges.map((r) => r.path).join(' ')}`);
  assert.equal(results.fromNeighbours, true, 'answered from the neighbour list');
  // Nothing downloaded twice (a module imported by the page and by the worker is revalidated:
  // a 304 without a body).
  const downloads = before.filter((r) => r.status !== 304).map((r) => `${r.path} ${r.range ?? ''}`);
  assert.equal(new Set(downloads).size, downloads.length, `nothing downloaded twice: ${downloads.join(', ')}`);

  const total = before.reduce((a, r) => a + r.bytes, 0);
  console.log(`before the first result: ${requests.length} answers, ${total} bytes (search module ${search[0].bytes})`);
  assert.ok(total <= FIRST_RESULT_MAX_BYTES, `${total} bytes before the first result`);
  assert.deepEqual(await page.events('modelready'), [], 'no model');

  // Once the page is idle, the rest of the index follows and the filters get their tags.
  const complete = await page.nthEvent('indexcomplete');
  assert.equal(complete.index.complete, true);
  assert.ok(Object.keys(complete.index.tags).length > 0, 'the catalog tags arrive with the filters parts');
  for (const kind of ['quantizer', 'codes', 'filters']) {
    assert.ok(
      requests.some((r) => r.path.includes(`/parts/${kind}-`) && r.status === 200),
      `the whole ${kind} part, after the first result`,
    );
  }

  // A visitor drags a file over the element: the analyser and the model load, with progress.
  const count = requests.length;
  await page.evaluate(() => {
    const data = new DataTransfer();
    data.items.add(new File([new Uint8Array(4)], 'song.mp3', { type: 'audio/mpeg' }));
    document.querySelector('similar-songs').dispatchEvent(new DragEvent('dragenter', { dataTransfer: data, bubbles: true }));
  });
  const ready = await page.nthEvent('modelready');
  assert.equal(ready.engineBuild, 'relaxed-simd');
  const later = requests.slice(count).map((r) => r.path);
  assert.ok(later.includes('pkg/simsong_relaxed_bg.wasm') && later.includes('pkg/simsong.js') && later.includes(MODEL), `then the analyser: ${later.join(' ')}`);
  assert.ok(!later.includes('pkg/simsong_bg.wasm'), 'only the build this browser runs');
  assert.ok(
    (await page.events('progress')).some((p) => p.stage === 'model' && p.loaded > 0),
    'its bytes are reported',
  );
  assert.deepEqual(page.problems, []);
  assert.deepEqual(await page.cspViolations(), []);
  await page.context().close();
});

test("A dropped file's search fetches the quantiser and the cells it probes, by range, before the whole codes", { skip }, async () => {
  const page = await newPage(env);
  await throttleTo4G(page);
  requests.length = 0;
  // Dropped as soon as the element exists: before the idle load brings the whole index.
  await page.goto(demoUrl(env), { waitUntil: 'domcontentloaded' });
  await page.setInputFiles('similar-songs >> .drop input[type=file]', join(ROOT, 'tests/fixtures/audio/real_music_a_44k.ogg'));
  const results = await page.nthEvent('results');
  assert.deepEqual(results.ids.slice(0, 2).sort(), ['menu', 'menu-flac'], 'the same music ranks first');
  const before = requests.slice();
  const catalog = before.filter((r) => r.path.startsWith('e2e/catalog/parts/'));
  const kind = (r) => r.path.match(/parts\/([a-z]+)-/)[1];
  // The quantiser whole (once), the codes part only by range (its cell table, then cells), the
  // re-ranking rows of the shortlist by range; no filters part (no filter is set).
  assert.deepEqual(
    catalog.filter((r) => kind(r) === 'quantizer').map((r) => r.status),
    [200],
    `the quantiser, whole, once: ${before.map((r) => `${r.path} ${r.status} ${r.range ?? ''}`).join(', ')}`,
  );
  const codes = catalog.filter((r) => kind(r) === 'codes');
  assert.ok(codes.length >= 2 && codes.every((r) => r.status === 206 && r.range), `the codes by range: ${codes.map((r) => `${r.status} ${r.range}`).join(', ')}`);
  assert.deepEqual(
    catalog.filter((r) => kind(r) === 'filters'),
    [],
    'no filters part',
  );
  assert.ok(
    catalog.filter((r) => kind(r) === 'rerank').every((r) => r.status === 206),
    're-ranking rows by range',
  );
  // The hits' metadata records, located by their re-ranking rows: never the shard table (it
  // starts the metadata part, right after the 48-byte envelope). Only what was asked after the
  // re-ranking rows arrived is the search's: the demo page's catalog list (browse) may fetch a
  // table and a shard of its own first, on a slow machine before the drop supersedes it.
  const reranked = Math.max(...catalog.filter((r) => kind(r) === 'rerank').map((r) => r.at));
  const meta = catalog.filter((r) => kind(r) === 'meta' && r.started >= reranked);
  assert.ok(meta.length > 0 && meta.every((r) => r.status === 206 && !r.range.startsWith('bytes=48-')), `metadata records by range, no shard table: ${meta.map((r) => r.range).join(', ')}`);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

// A published index at store shape (a synthetic 4000-track catalog, the same generator as the
// 600k benchmark) on the store example page, and everything a CDN can do wrong, injected by the
// test server: a 404 on each kind of part, a truncated part, a part from another build, a server
// that ignores Range, a very slow part, a manifest that lies about sizes. Each ends in a clear
// message that names the part, or in a working fallback; the page never freezes. The catalog is
// published without neighbour lists, so that a search by track reads the quantiser and the
// codes' cells as a file, a filter or a shortlist does (the lists' own faults are the last test).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ARTIFACTS, ROOT, newPage, setUp } from './harness.mjs';
import { buildSynthetic, synthesize } from './catalog.mjs';
import { tempDir } from '../temp-dir.mjs';

const skip = !process.env.SIMSONG_BIN && 'SIMSONG_BIN (the native CLI) is needed to build the test catalog';
const el = 'similar-songs';
const TRACKS = 4000;
const REFERENCE = 'bgm-0000042';
let env;
let dir;
let manifest;
let expected; // the CLI's answer for REFERENCE on the same parts
let other; // a part of another build
const requests = []; // every answer of the test server

before(async () => {
  if (skip) return;
  dir = tempDir('simsong-synth-');
  const parts = buildSynthetic(join(dir, 'a'), TRACKS, { neighbours: 0 });
  const otherParts = buildSynthetic(join(dir, 'b'), 600, { seed: 2, neighbours: 0 });
  buildSynthetic(join(dir, 'lists'), 600, { seed: 3 });
  manifest = JSON.parse(readFileSync(join(parts, 'index.json')));
  const otherManifest = JSON.parse(readFileSync(join(otherParts, 'index.json')));
  other = readFileSync(join(otherParts, `parts/meta-${otherManifest.generations[0].meta.xxh3.slice(0, 20)}.bin`));
  expected = JSON.parse(execFileSync(process.env.SIMSONG_BIN, ['query', parts, '--id', REFERENCE, '-k', '5', '--json']));
  env = await setUp({ catalog: false, mounts: { 'synth/': dir }, requests });
});
after(() => env?.close());

const file = (kind, part) => `parts/${kind}-${part.xxh3.slice(0, 20)}.bin`;
const g0 = () => manifest.generations[0];
// The metadata part (a shard table, then the shards, read by range).
const metaPart = () => g0().meta;

async function openStore(faults = null) {
  env.faults = faults;
  const page = await newPage(env);
  // What the status line said while the element was busy.
  await page.addInitScript(() => {
    window.__status = [];
    const watch = () => {
      const host = document.querySelector('similar-songs');
      const text = host?.shadowRoot?.querySelector('.status-text');
      if (!text) return requestAnimationFrame(watch);
      new MutationObserver(() => window.__status.push(text.textContent)).observe(text, { childList: true, characterData: true, subtree: true });
    };
    addEventListener('DOMContentLoaded', watch);
  });
  await page.goto(`${env.origin}/demo/store-example.html?index=/synth/a/parts/&model=/models/simsong.nnef.tar&track=${REFERENCE}`);
  return page;
}

const statusOf = (page) => page.locator(`${el} >> .status`).textContent();

test("a store-sized catalog in parts: byte progress, then the CLI's results, from a fraction of the bytes", { skip }, async () => {
  const page = await openStore();
  const results = await page.nthEvent('results');
  assert.deepEqual(
    results.rows,
    expected.map((r) => r.hit.id),
    'the same hits as `simsong query` on the same parts',
  );
  assert.equal(results.approximate, false);
  assert.deepEqual(results.notes, []);
  const reference = JSON.parse(readFileSync(join(dir, 'a/tracks.jsonl'), 'utf8').split('\n')[42]);
  assert.equal(reference.id, REFERENCE);
  assert.equal(await page.locator('#product-title').textContent(), reference.title, 'the store shows the reference from the results');
  const status = await page.evaluate(() => window.__status);
  // (The manifest loads first; the search then fetches the quantiser and cells, with progress.)
  assert.ok(
    status.some((s) => /… (\d+% |[\d.]+ of [\d.]+ MB)/.test(s)),
    `byte progress shown: ${status.slice(0, 8)}`,
  );
  const stats = await page.evaluate(() => document.querySelector('similar-songs').networkStats());
  const total = manifest.generations[0];
  const all = [manifest.quantizer, total.codes, total.filters, total.rerank, total.segments, total.meta, total.ids.file].reduce((s, p) => s + p.bytes, 0);
  assert.ok(stats.fetched < all / 2, `fetched ${stats.fetched} bytes of ${all}`);
  assert.equal(stats.rangeIgnored, false);
  await page.screenshot({ path: join(ARTIFACTS, 'parts-store.png'), fullPage: true });
  assert.deepEqual(page.problems, []);
  assert.deepEqual(await page.cspViolations(), []);
  await page.context().close();
});

test('a 404 on each kind of part: fallbacks where honest, the part named where not', { skip }, async () => {
  // The metadata part: the hits still come, without details.
  let page = await openStore((path) => (path.endsWith(file('meta', metaPart())) ? { status: 404 } : null));
  let results = await page.nthEvent('results');
  assert.deepEqual(
    results.rows,
    expected.map(() => ''),
    'the same hits, without their details',
  );
  assert.match(results.notes.join(' '), new RegExp(`track details could not be fetched: catalog part ${file('meta', metaPart())}: HTTP 404`));
  assert.match(await statusOf(page), /HTTP 404/);
  assert.equal(await page.locator(`${el} >> .row .title`).first().textContent(), 'Track details unavailable');
  await page.context().close();

  // The re-ranking rows: ranked by the compact codes, and said so.
  page = await openStore((path) => (path.endsWith(file('rerank', g0().rerank)) ? { status: 404 } : null));
  results = await page.nthEvent('results');
  assert.equal(results.approximate, true);
  assert.equal(results.ids.length, 5);
  assert.match(results.notes.join(' '), /Re-ranking was not possible .*parts\/rerank-.*HTTP 404/);
  await page.context().close();

  // The segments: results without the best moment.
  page = await openStore((path) => (path.endsWith(file('segments', g0().segments)) ? { status: 404 } : null));
  results = await page.nthEvent('results');
  assert.deepEqual(
    results.rows,
    expected.map((r) => r.hit.id),
  );
  assert.match(results.notes.join(' '), /Where in each song the match lies could not be fetched/);
  await page.context().close();

  // The id buckets: a search by track id cannot know its reference.
  page = await openStore((path) => (path.includes('parts/ids-') ? { status: 404 } : null));
  let error = await page.nthEvent('error');
  assert.equal(error.stage, 'search');
  assert.match(error.message, /catalog part parts\/ids-[0-9a-f]{20}\.bin: HTTP 404/);
  await page.context().close();

  // The quantiser, and the codes: nothing can be ranked; the message says which part.
  for (const kind of ['quantizer', 'codes']) {
    page = await openStore((path) => (path.includes(`parts/${kind}-`) ? { status: 404 } : null));
    error = await page.nthEvent('error');
    assert.equal(error.stage, 'search');
    assert.match(error.message, new RegExp(`catalog part parts/${kind}-[0-9a-f]{20}\\.bin: HTTP 404`));
    assert.match(await statusOf(page), /HTTP 404/);
    await page.context().close();
  }
});

test('truncated parts and parts from another build are refused by name', { skip }, async () => {
  const shard = file('meta', metaPart());
  for (const [what, fault, message] of [
    ['truncated', { truncate: 100 }, /truncated: the connection closed after \d+ of \d+ bytes/],
    // (Another build's file may be shorter than a record's range: the server answers 416.)
    ['another build', { body: other }, /bytes arrived where|checksum|another build|announces|the server says the part has|HTTP 416/],
  ]) {
    const page = await openStore((path) => (path.endsWith(shard) ? fault : null));
    const results = await page.nthEvent('results');
    assert.match(results.notes.join(' '), new RegExp(`${shard.replace(/[.]/g, '\\.')}.*`), what);
    assert.match(results.notes.join(' '), message, what);
    await page.context().close();
  }
  const page = await openStore((path) => (path.includes('parts/quantizer-') ? { truncate: 5000 } : null));
  const error = await page.nthEvent('error');
  assert.equal(error.stage, 'search');
  assert.match(error.message, /parts\/quantizer-[0-9a-f]{20}\.bin: truncated: the connection closed after \d+ of \d+ bytes/);
  await page.context().close();
});

test('a server that ignores Range: the whole parts, once, and the same results', { skip }, async () => {
  const page = await openStore(() => ({ ignoreRange: true }));
  const results = await page.nthEvent('results');
  assert.deepEqual(
    results.rows,
    expected.map((r) => r.hit.id),
  );
  assert.equal(results.approximate, false);
  const stats = await page.evaluate(() => document.querySelector('similar-songs').networkStats());
  assert.equal(stats.rangeIgnored, true);
  // A second search reuses the whole parts fetched the first time.
  const before = stats.fetched;
  await page.evaluate(() => document.querySelector('similar-songs').searchByTrack('bgm-0003000'));
  const after = await page.evaluate(() => document.querySelector('similar-songs').networkStats());
  assert.ok(after.fetched - before < g0().rerank.bytes, `${after.fetched - before} bytes more`);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('a very slow quantiser part: progress moves, the page stays responsive, the search comes', { skip }, async () => {
  const bytesPerSecond = Math.round(manifest.quantizer.bytes / 4); // about 4 s
  const page = await openStore((path) => (path.includes('parts/quantizer-') ? { bytesPerSecond } : null));
  // While it downloads, the page answers at once (the worker does the fetching and checking).
  const lag = await page.evaluate(async () => {
    let worst = 0;
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      await new Promise((r) => setTimeout(r, 50));
      worst = Math.max(worst, performance.now() - t - 50);
    }
    return worst;
  });
  assert.ok(lag < 150, `the page's event loop stalled for ${lag} ms`);
  const results = await page.nthEvent('results', 1, 60000);
  assert.deepEqual(
    results.rows,
    expected.map((r) => r.hit.id),
  );
  const status = await page.evaluate(() => window.__status);
  const fractions = status.map((s) => /… ([\d.]+) of ([\d.]+) MB|… (\d+)%/.exec(s)).filter(Boolean);
  assert.ok(fractions.length >= 3, `progress was shown as bytes arrived: ${status.slice(0, 12)}`);
  await page.context().close();
});

test("a manifest that lies about a part's size: the part is refused by name", { skip }, async () => {
  const lying = structuredClone(manifest);
  const shard = lying.generations[0].meta;
  shard.bytes += 1000;
  const page = await openStore((path) => (path.endsWith('synth/a/parts/index.json') ? { body: Buffer.from(JSON.stringify(lying)) } : null));
  const results = await page.nthEvent('results');
  assert.match(results.notes.join(' '), new RegExp(`${file('meta', shard).replace(/[.]/g, '\\.')}: the server says the part has \\d+ bytes, the manifest says ${shard.bytes}`));
  await page.context().close();
});

test('after a delta, a returning visitor fetches the new parts, not the catalog again', { skip }, async () => {
  env.faults = null;
  const context = await env.browser.newContext();
  const search = async (id) => {
    const page = await context.newPage();
    requests.length = 0;
    await page.goto(`${env.origin}/demo/store-example.html?index=/synth/a/parts/&model=/models/simsong.nnef.tar&track=${id}`);
    await page.waitForFunction(() => document.querySelector('similar-songs').results);
    const ids = await page.evaluate(() => document.querySelector('similar-songs').results.map((h) => h.id));
    const mine = requests.filter((r) => r.path.startsWith('synth/a/'));
    const bytes = mine.reduce((s, r) => s + r.bytes, 0);
    await page.close();
    return { ids, bytes, paths: mine.map((r) => r.path), pieces: mine.map((r) => `${r.path} ${r.range ?? ''} ${r.bytes}`) };
  };
  const first = await search(REFERENCE);
  assert.ok(first.bytes > manifest.quantizer.bytes, `the first visit fetched the quantiser (${first.bytes} bytes)`);
  // 200 new tracks, published as a delta with the CLI.
  const add = join(dir, 'add');
  synthesize(add, 200, 3);
  const tracks = readFileSync(join(add, 'tracks.jsonl'), 'utf8').replaceAll('"id": "bgm-', '"id": "new-');
  writeFileSync(join(add, 'tracks.jsonl'), tracks);
  execFileSync(
    process.env.SIMSONG_BIN,
    ['index', 'import', '--model', join(ROOT, 'models/simsong.onnx'), '--embeddings', join(add, 'embeddings.npy'), '--tracks', join(add, 'tracks.jsonl'), '--out', join(add, 'new.idx')],
    { stdio: 'pipe' },
  );
  execFileSync(process.env.SIMSONG_BIN, ['index', 'add', join(dir, 'a/parts'), '--from', join(add, 'new.idx')], { stdio: 'pipe' });
  const updated = JSON.parse(readFileSync(join(dir, 'a/parts/index.json')));
  assert.equal(updated.generations.length, 2);
  // The same page again: the base's parts come from the browser, the delta's from the server.
  const again = await search('new-0000005');
  // (The quantiser, fetched whole, is in Cache Storage; the cells are ranges, from the HTTP
  // cache or the server.)
  const base = `synth/a/parts/${file('quantizer', manifest.quantizer)}`;
  const added = `synth/a/parts/${file('codes', updated.generations[1].codes)}`;
  assert.ok(first.paths.includes(base));
  assert.ok(!again.paths.includes(base), "the quantiser came from the browser's cache");
  assert.ok(again.paths.includes(added), "the delta's codes came from the server");
  // Nothing of the base generation whole again: only the ranges this search reads (cells,
  // re-ranking blocks, records), which depend on the query, not on the visit.
  const baseFiles = [manifest.quantizer, ...Object.values(manifest.generations[0]).filter((p) => p?.xxh3)].map((p) => p.xxh3.slice(0, 20));
  const wholeAgain = again.pieces.filter((p) => baseFiles.some((x) => p.includes(x)) && !/bytes=/.test(p));
  assert.deepEqual(wholeAgain, [], `no base part fetched whole again: ${again.pieces.join(', ')}`);
  assert.equal(again.ids.length, 5, 'a track of the delta is searchable');
  await context.close();
  manifest = updated;
});

test('neighbour lists: "Similar" from the manifest and ranges alone; without them, the codes answer and say so; a codes part cut off in the background costs "Similar" nothing', { skip }, async () => {
  const lists = JSON.parse(readFileSync(join(dir, 'lists/parts/index.json')));
  const open = async (faults) => {
    env.faults = faults;
    const page = await newPage(env);
    requests.length = 0;
    await page.goto(`${env.origin}/demo/store-example.html?index=/synth/lists/parts/&model=/models/simsong.nnef.tar&track=${REFERENCE}`);
    return page;
  };
  const want = JSON.parse(execFileSync(process.env.SIMSONG_BIN, ['query', join(dir, 'lists/parts'), '--id', REFERENCE, '-k', '5', '--json']));
  let page = await open(null);
  let results = await page.nthEvent('results');
  assert.equal(results.fromNeighbours, true);
  assert.deepEqual(
    results.rows,
    want.map((r) => r.hit.id),
    'the hits the CLI gives',
  );
  assert.ok(!requests.some((r) => /parts\/(quantizer|codes)-/.test(r.path)), 'no codes before the first result');
  await page.context().close();
  page = await open((path) => (path.endsWith(file('neighbours', lists.neighbours.file)) ? { status: 404 } : null));
  results = await page.nthEvent('results');
  assert.equal(results.fromNeighbours, false);
  assert.deepEqual(
    results.rows,
    want.map((r) => r.hit.id),
    'the same hits from the codes',
  );
  assert.match(results.notes.join(' '), /neighbour list could not be fetched.*parts\/neighbours-[0-9a-f]{20}\.bin: HTTP 404/);
  await page.context().close();

  // The codes part cut off halfway while it loads in the background (the page was idle):
  // "Similar" keeps working from the lists, on the first track and on the next one.
  const codes = lists.generations[0].codes;
  page = await open((path) => (path.endsWith(file('codes', codes)) ? { truncate: Math.floor(codes.bytes / 2) } : null));
  results = await page.nthEvent('results');
  assert.equal(results.fromNeighbours, true);
  for (let i = 0; !requests.some((r) => r.path.endsWith(file('codes', codes))); i++) {
    assert.ok(i < 300, 'the codes part is asked for once the page is idle');
    await page.waitForTimeout(100);
  }
  const cut = requests.find((r) => r.path.endsWith(file('codes', codes)));
  assert.ok(cut.bytes < codes.bytes, `the codes part was cut off (${cut.bytes} of ${codes.bytes} bytes)`);
  await page.waitForTimeout(500); // its failure reaches the worker
  const next = results.ids[1];
  const wantNext = JSON.parse(execFileSync(process.env.SIMSONG_BIN, ['query', join(dir, 'lists/parts'), '--id', next, '-k', '5', '--json']));
  await page.evaluate((id) => document.querySelector('similar-songs').setAttribute('track', id), next);
  const again = await page.nthEvent('results', 2);
  assert.equal(again.fromNeighbours, true);
  assert.deepEqual(
    again.rows,
    wantNext.map((r) => r.hit.id),
    "the next track's hits, as the CLI gives them",
  );
  assert.deepEqual(await page.events('error'), [], 'no error: nothing the visitor asked for needed the codes');
  assert.deepEqual(await page.events('indexcomplete'), [], 'the catalog is not complete');
  await page.context().close();
});

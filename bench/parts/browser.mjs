// A published synthetic catalog in headless Chromium, through the real element on the store
// example page (the same server, CSP and worker as the demo): bytes and requests before the
// first result list for a search by catalog track (counted by the server), time to it, the
// ranking's time in wasm once the parts it needs are cached, the engine's memory, and a plain
// JS cosine scan over as many f32 vectors for comparison. With --delta ADD.idx, it then adds
// those tracks with `simsong index add --from` and reloads the page in the same browser context
// (its HTTP cache holding the old parts) to count what an update costs a returning visitor.
//
// Usage: node bench/parts/browser.mjs SYNTH_DIR [--delta ADD.idx --bin SIMSONG]   → JSON on stdout
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { newPage, setUp } from '../../tests/e2e/harness.mjs';

const args = process.argv.slice(2);
const synth = args[0];
const opt = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : null);
const delta = opt('--delta');
const bin = opt('--bin') || process.env.SIMSONG_BIN;
const QUERIES = 8;

const requests = [];
const env = await setUp({ catalog: false, mounts: { 'synth/': synth }, requests });
const manifest = () => JSON.parse(readFileSync(join(synth, 'parts/index.json')));
const n = manifest().generations.reduce((s, g) => s + g.tracks, 0);
const ids = Array.from({ length: QUERIES }, (_, i) => `bgm-${String((i * 7919 + 13) % n).padStart(7, '0')}`);
const catalogBytes = () => requests.filter((r) => r.path.startsWith('synth/')).reduce((s, r) => s + r.bytes, 0);
// What loading the index itself cost (the manifest, and the parts a page fetches whole: the
// quantiser, codes and filters parts, loaded at idle), the search's pieces apart.
const loadBytes = () => requests.filter((r) => /synth\/.*(index\.json|parts\/(quantizer|codes|filters)-)/.test(r.path) && r.status === 200).reduce((s, r) => s + r.bytes, 0);
const catalogRequests = () => requests.filter((r) => r.path.startsWith('synth/')).length;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

async function coldSearch(context, id) {
  const page = await context.newPage();
  requests.length = 0;
  const t0 = Date.now();
  await page.goto(`${env.origin}/demo/store-example.html?index=/synth/parts/&model=/models/simsong.nnef.tar&track=${id}`);
  const detail = await page.evaluate(
    () =>
      new Promise((ok) => {
        const host = document.querySelector('similar-songs');
        const done = (e) => ok({ ids: e.detail.hits.map((h) => h.id), notes: e.detail.notes, searchMs: e.detail.searchMs });
        if (host.results) ok({ ids: host.results.map((h) => h.id), notes: [], searchMs: null });
        else host.addEventListener('results', done, { once: true });
      }),
  );
  return { page, ms: Date.now() - t0, bytes: catalogBytes(), load: loadBytes(), requests: catalogRequests(), ...detail };
}

const report = { tracks: n, browser: `Chromium ${env.browser.version()} (headless, Debian)`, queries: ids };
try {
  // Cold: a fresh context (empty HTTP cache) per query; the first QUERIES / 2 are enough.
  const cold = [];
  for (const id of ids.slice(0, 4)) {
    const context = await env.browser.newContext();
    const r = await coldSearch(context, id);
    cold.push({ id, ms: r.ms, bytes: r.bytes, requests: r.requests, notes: r.notes });
    console.error(`cold ${id}: ${(r.bytes / 1e6).toFixed(2)} MB in ${r.requests} requests, ${r.ms} ms`);
    await context.close();
  }
  report.cold = cold;

  // Warm: the ranking's time in wasm (the worker's time in search steps, fetches excluded).
  const page = await newPage(env);
  await page.goto(`${env.origin}/demo/store-example.html?index=/synth/parts/&model=/models/simsong.nnef.tar`);
  await page.evaluate(() => document.querySelector('similar-songs').ready);
  const warm = await page.evaluate(async (queries) => {
    const host = document.querySelector('similar-songs');
    // Every query `rounds` times; the first round (which fetches the pieces) is not counted.
    const searchTimes = async (rounds) => {
      const times = [];
      for (let round = 0; round < rounds; round++) {
        for (const id of queries) {
          const got = new Promise((ok) => host.addEventListener('results', (e) => ok(e.detail.searchMs), { once: true }));
          await host.searchByTrack(id);
          const ms = await got;
          if (round > 0) times.push(ms);
        }
      }
      return times;
    };
    const times = await searchTimes(3);
    host.setAttribute('filter', 'use:wedding');
    const filtered = await searchTimes(2);
    const stats = await host.networkStats();
    return { times, filtered, stats };
  }, ids);
  report.top10_wasm_ms = { median: median(warm.times), min: Math.min(...warm.times), max: Math.max(...warm.times), runs: warm.times.length };
  report.top10_filtered_wasm_ms = { median: median(warm.filtered), min: Math.min(...warm.filtered), max: Math.max(...warm.filtered), runs: warm.filtered.length };
  report.engine_memory_bytes = warm.stats.wasmMemoryBytes;
  report.held_bytes = warm.stats.heldBytes;
  console.error(`warm top-10 in wasm: ${report.top10_wasm_ms.median.toFixed(2)} ms; engine memory ${(warm.stats.wasmMemoryBytes / 2 ** 20).toFixed(0)} MiB`);

  // A plain JS cosine scan over as many 128-d f32 vectors, in the same page.
  report.plain_js_top10_ms = await page.evaluate((count) => {
    const dim = 128;
    const data = new Float32Array(count * dim);
    let s = 42;
    for (let i = 0; i < data.length; i++) {
      s = (s * 1103515245 + 12345) >>> 0;
      data[i] = s / 2 ** 32 - 0.5;
    }
    const query = data.slice(0, dim);
    const times = [];
    for (let run = 0; run < 7; run++) {
      const t0 = performance.now();
      const top = new Float32Array(10).fill(-Infinity);
      for (let i = 0; i < count; i++) {
        let dot = 0;
        const o = i * dim;
        for (let j = 0; j < dim; j++) dot += data[o + j] * query[j];
        if (dot > top[9]) {
          let k = 9;
          while (k > 0 && top[k - 1] < dot) {
            top[k] = top[k - 1];
            k--;
          }
          top[k] = dot;
        }
      }
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    return { median: times[3], min: times[0], max: times[6], runs: 7 };
  }, n);
  await page.context().close();

  if (delta) {
    // A returning visitor: the old parts are in its HTTP cache when the index gets a delta.
    const context = await env.browser.newContext();
    const first = await coldSearch(context, ids[0]);
    await first.page.close();
    const before = manifest();
    const out = execFileSync(bin, ['index', 'add', join(synth, 'parts'), '--from', delta], { stdio: ['ignore', 'pipe', 'pipe'] });
    const after = manifest();
    const g = after.generations.at(-1);
    const again = await coldSearch(context, ids[0]);
    report.delta = {
      added: g.tracks,
      // The neighbour lists are rewritten whole by every delta (counted apart).
      new_parts_bytes: [g.codes, g.filters, g.rerank, g.segments, g.meta, ...(g.ids ? [g.ids.file] : [])].reduce((s, p) => s + p.bytes, 0),
      neighbours_part_bytes: after.neighbours?.file.bytes ?? 0,
      // What a returning page fetches whole of the delta (at idle): its codes and filters parts.
      search_part_bytes: g.codes.bytes + g.filters.bytes,
      manifest_bytes_before: JSON.stringify(before).length,
      first_visit: { bytes: first.bytes, load_bytes: first.load, requests: first.requests },
      returning_visit: { bytes: again.bytes, load_bytes: again.load, requests: again.requests, ms: again.ms },
      cli: out.toString(),
    };
    console.error(`after a delta of ${g.tracks} tracks: the returning page fetched ${(again.bytes / 1e6).toFixed(2)} MB (first visit ${(first.bytes / 1e6).toFixed(2)} MB)`);
    await again.page.close();
    // Then 100 removals, as another delta.
    const gone = Array.from({ length: 100 }, (_, i) => `bgm-${String(i * 5003 + 7).padStart(7, '0')}`);
    execFileSync(bin, ['index', 'remove', join(synth, 'parts'), ...gone], { stdio: ['ignore', 'pipe', 'pipe'] });
    const removal = manifest().generations.at(-1);
    const third = await coldSearch(context, ids[1]);
    report.removal = {
      removed: removal.removed,
      search_part_bytes: removal.codes.bytes + removal.filters.bytes,
      returning_visit: { bytes: third.bytes, load_bytes: third.load, requests: third.requests },
    };
    await context.close();
  }
} finally {
  await env.close();
}
console.log(JSON.stringify(report, null, 2));

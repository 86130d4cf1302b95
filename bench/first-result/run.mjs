#!/usr/bin/env node
// The visitor's wait: time and bytes before the first result list, in Chromium, on emulated
// networks, counted over everything the page and its worker fetch (engine, scripts, catalog,
// and for a dropped song the analyser and the model).
//
//   node bench/first-result/run.mjs --index DIR --track ID [--runs 3] [--out FILE] [--timeline FILE]
//       [--profile 4G] [--similar-only]
//
// DIR is a published index (its index.json and parts/); ID a catalog track to press "Similar"
// on. The network is emulated at the server (scripts/serve.mjs `link`): each answer starts one
// round trip after its request (two on a new connection, three with TLS), every body shares one
// downlink, over plain HTTP/1.1 or HTTP/2 over TLS (the profile's `protocol`); a
// page-level DevTools throttle would miss the worker's fetches. Bytes are bodies as sent
// (compressed where the server compresses: scripts, wasm, the model), headers not counted.
//
// Scenarios, each in a fresh browser context (cold caches), median of --runs:
//   similar: the demo page opened with ?like=ID (the shared-search URL), until its results;
//   file:    the same page, catalog wholly in (indexcomplete), then a 30 s 44.1 kHz stereo 128 kb/s MP3 dropped on
//            it, from the drop until its results (the analyser and the model load on the drop).
//   file, cold: the same MP3 dropped as soon as the element exists on a page just opened, from
//            the navigation until its results (nothing of the index but the manifest yet: the
//            search fetches the quantiser, the cell tables and the cells it probes), everything
//            fetched meanwhile.
// Prints JSON: { tracks, profiles: [{ name, down_mbps, rtt_ms, similar_ms, similar_bytes,
// file_ms, file_bytes, similar_requests, file_requests, file_cold_ms, file_cold_bytes,
// file_cold_requests }] }.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from '../../scripts/serve.mjs';
import { CHROMIUM_ARGS, newPage } from '../../tests/e2e/harness.mjs';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const INDEX = resolve(arg('index', ''));
const TRACK = arg('track', '');
const RUNS = Number(arg('runs', '3'));
const MODEL = arg('model', 'models/simsong.nnef.tar');
const TIMELINE = arg('timeline', null); // FILE: the first run's requests per profile ("NAME", "NAME: file" from the drop, "NAME: file, cold"), as JSON
const timelines = {};
const ONLY = arg('profile', null); // one profile by name, e.g. 4G (a quick look; the report needs all)
const SIMILAR_ONLY = process.argv.includes('--similar-only');
if (!existsSync(join(INDEX, 'index.json')) || !TRACK) {
  console.error('usage: node bench/first-result/run.mjs --index DIR --track ID [--runs 3] [--out FILE]');
  process.exit(2);
}

// Plain HTTP/1.1 (Chromium opens at most six connections to a host: requests beyond them wait)
// and HTTP/2 over TLS 1.3 (what a CDN serves: one connection, its handshake one round trip
// longer, every request multiplexed on it).
export const PROFILES = [
  { name: 'unthrottled', down_mbps: null, rtt_ms: 0, protocol: 'http/1.1' },
  { name: '4G', down_mbps: 9, rtt_ms: 60, protocol: 'http/1.1' },
  { name: 'slow 4G', down_mbps: 1.6, rtt_ms: 150, protocol: 'http/1.1' },
  { name: '4G, HTTP/2', down_mbps: 9, rtt_ms: 60, protocol: 'h2' },
  { name: 'slow 4G, HTTP/2', down_mbps: 1.6, rtt_ms: 150, protocol: 'h2' },
];

const OUT = join(ROOT, 'bench/out');
mkdirSync(OUT, { recursive: true });
const MP3 = join(OUT, 'thirty_seconds.mp3');
if (!existsSync(MP3)) {
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-stream_loop', '-1', '-i', join(ROOT, 'tests/fixtures/audio/real_music_a_44k.wav'), '-t', '30', '-ar', '44100', '-ac', '2', '-b:a', '128k', MP3]);
}
const mp3 = readFileSync(MP3).toString('base64');
const tracks = JSON.parse(
  execFileSync(join(process.env.CARGO_TARGET_DIR || join(process.env.HOME, '.cache/simsong/target'), 'release/simsong'), ['index', 'info', INDEX, '--json'], { encoding: 'utf8' }),
).tracks;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// In the page: drops the MP3 (base64) on the element once it exists, as a visitor's drag and
// drop does; resolves with when it was dropped and when its results came ({ t0, t1 }, ms).
async function dropSong(b64) {
  await customElements.whenDefined('similar-songs');
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const data = new DataTransfer();
  data.items.add(new File([bytes], 'thirty_seconds.mp3', { type: 'audio/mpeg' }));
  const host = document.querySelector('similar-songs');
  const shown = new Promise((ok, fail) => {
    host.addEventListener('results', ok, { once: true });
    host.addEventListener('error', ({ detail }) => fail(new Error(`${detail.stage}: ${detail.message}`)), { once: true });
  });
  const t0 = Date.now();
  host.dispatchEvent(new DragEvent('dragenter', { dataTransfer: data, bubbles: true }));
  host.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
  await shown;
  return { t0, t1: Date.now() };
}

async function measure(profile) {
  const requests = [];
  const link = profile.down_mbps ? { bytesPerSecond: (profile.down_mbps * 1e6) / 8, rttMs: profile.rtt_ms } : null;
  const h2 = profile.protocol === 'h2';
  const server = await startServer(0, '127.0.0.1', { mounts: { 'bench-index/': INDEX }, requests, link, http2: h2 });
  const args = h2 ? [...CHROMIUM_ARGS, '--ignore-certificate-errors'] : CHROMIUM_ARGS; // the server's self-signed certificate
  const env = { origin: `${h2 ? 'https' : 'http'}://127.0.0.1:${server.address().port}`, browser: await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args }) };
  const url = `${env.origin}/?index=/bench-index/index.json&model=/${MODEL}`;
  const between = (from, to) => requests.filter((r) => r.at >= from && r.at <= to);
  const similar = [];
  const file = [];
  const cold = [];
  try {
    for (let run = 0; run < RUNS; run++) {
      let page = await newPage(env);
      requests.length = 0;
      const start = Date.now();
      await page.goto(`${url}&like=${encodeURIComponent(TRACK)}`);
      const results = await page.nthEvent('results', 1, 300000);
      const end = await page.evaluate(() => Date.now());
      const got = between(0, end);
      similar.push({ ms: end - start, bytes: got.reduce((a, r) => a + r.bytes, 0), requests: got.length, first: results.ids[0] });
      if (TIMELINE && run === 0) {
        // What the page waited on, in order: when each request arrived and its answer ended (ms
        // after navigation), its path and range, and its bytes on the wire.
        timelines[profile.name] = got.map((r) => ({ path: r.path, range: r.range, bytes: r.bytes, started_ms: r.started - start, ended_ms: r.at - start }));
      }
      await page.context().close();
      if (SIMILAR_ONLY) continue;

      page = await newPage(env);
      await page.goto(url);
      // The catalog wholly in (its codes and filters load once the page is idle): the search
      // scans every code, and fetches only re-ranking rows and details.
      await page.nthEvent('indexcomplete', 1, 600000);
      const dropped = await page.evaluate(dropSong, mp3);
      const fetched = between(dropped.t0, dropped.t1);
      if (TIMELINE && run === 0) {
        timelines[`${profile.name}: file`] = fetched.map((r) => ({ path: r.path, range: r.range, bytes: r.bytes, started_ms: r.started - dropped.t0, ended_ms: r.at - dropped.t0 }));
      }
      file.push({ ms: dropped.t1 - dropped.t0, bytes: fetched.reduce((a, r) => a + r.bytes, 0), requests: fetched.length });
      if (page.problems.length) throw new Error(`page problems: ${page.problems.join('; ')}`);
      await page.context().close();

      // Cold: the visitor opens the page and drops the song at once (as soon as the element
      // exists), before the idle load of the index: from navigation to the results,
      // and everything the page fetched meanwhile.
      page = await newPage(env);
      requests.length = 0;
      const coldStart = Date.now();
      await page.goto(url, { waitUntil: 'domcontentloaded' });
      const coldEnd = (await page.evaluate(dropSong, mp3)).t1;
      const coldFetched = between(0, coldEnd);
      if (TIMELINE && run === 0) {
        timelines[`${profile.name}: file, cold`] = coldFetched.map((r) => ({ path: r.path, range: r.range, bytes: r.bytes, started_ms: r.started - coldStart, ended_ms: r.at - coldStart }));
      }
      cold.push({ ms: coldEnd - coldStart, bytes: coldFetched.reduce((a, r) => a + r.bytes, 0), requests: coldFetched.length });
      if (page.problems.length) throw new Error(`page problems: ${page.problems.join('; ')}`);
      await page.context().close();
    }
  } finally {
    await env.browser.close();
    await new Promise((ok) => server.close(ok));
  }
  const pick = (xs, f) => Math.round(median(xs.map(f)));
  return {
    ...profile,
    similar_ms: pick(similar, (x) => x.ms),
    similar_bytes: pick(similar, (x) => x.bytes),
    similar_requests: pick(similar, (x) => x.requests),
    file_ms: pick(file, (x) => x.ms),
    file_bytes: pick(file, (x) => x.bytes),
    file_requests: pick(file, (x) => x.requests),
    file_cold_ms: pick(cold, (x) => x.ms),
    file_cold_bytes: pick(cold, (x) => x.bytes),
    file_cold_requests: pick(cold, (x) => x.requests),
    runs: RUNS,
  };
}

const profiles = [];
for (const p of PROFILES.filter((q) => !ONLY || q.name === ONLY)) {
  profiles.push(await measure(p));
  console.error(JSON.stringify(profiles.at(-1)));
}
const result = { tracks, date: new Date().toISOString().slice(0, 10), chromium: execFileSync(process.env.CHROMIUM || '/usr/bin/chromium', ['--version'], { encoding: 'utf8' }).trim(), profiles };
const out = arg('out', null);
if (out) writeFileSync(out, `${JSON.stringify(result, null, 1)}\n`);
if (TIMELINE) writeFileSync(TIMELINE, `${JSON.stringify(timelines, null, 1)}\n`);
console.log(JSON.stringify(result));

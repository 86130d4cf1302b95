// Browser benchmark (headless Debian Chromium via playwright-core, the same server and CSP as the
// demo): cold start (navigation → index loaded, → model loaded) and drop-to-results for a
// 3-minute MP3, median of RUNS fresh browser contexts; then the cold start again with the model
// sent at 2.5 MB/s. Writes bench/out/browser.json.
//
// Uses the demo catalog and models/simsong.onnx when both exist (npm start builds them), else a
// small catalog from the test fixtures (needs SIMSONG_BIN or the CLI in $CARGO_TARGET_DIR).
// Usage: node bench/browser_bench.mjs [runs]
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { homedir, cpus } from 'node:os';
import { join } from 'node:path';
import { newPage, setUp, ROOT, MODEL as FIXTURE_CATALOG_MODEL } from '../tests/e2e/harness.mjs';

const RUNS = Number(process.argv[2] || 5);
const OUT = join(ROOT, 'bench/out');
const MP3 = join(OUT, 'three_minutes.mp3');
mkdirSync(OUT, { recursive: true });

// A 3-minute, 44.1 kHz stereo, 128 kb/s MP3 made by looping a real-music fixture.
if (!existsSync(MP3)) {
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-stream_loop', '-1', '-i', join(ROOT, 'tests/fixtures/audio/real_music_a_44k.wav'), '-t', '180', '-ar', '44100', '-ac', '2', '-b:a', '128k', MP3]);
}

// The demo catalog counts only when the shipped model built it (else files cannot be searched).
function demoIsUsable() {
  const index = join(ROOT, 'demo-data/catalog/index.json');
  const model = join(ROOT, 'models/simsong.onnx');
  if (!existsSync(index) || !existsSync(model)) return false;
  const manifest = JSON.parse(readFileSync(index, 'utf8'));
  return manifest.model.sha256 === createHash('sha256').update(readFileSync(model)).digest('hex');
}
const demo = demoIsUsable();
if (!demo && !process.env.SIMSONG_BIN) {
  const target = process.env.CARGO_TARGET_DIR || join(homedir(), '.cache/simsong/target');
  process.env.SIMSONG_BIN = join(target, 'release/simsong');
}
const env = await setUp({ catalog: !demo });
const [indexUrl, modelUrl] = demo ? ['/demo-data/catalog/index.json', '/models/simsong.nnef.tar'] : ['/e2e/catalog/index.json', `/${FIXTURE_CATALOG_MODEL}`];
const url = `${env.origin}/?index=${indexUrl}&model=${modelUrl}`;
const mp3 = readFileSync(MP3);

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const median = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  const r = (x) => Math.round(x * 10) / 10;
  return { median: r(median), min: r(s[0]), max: r(s.at(-1)) };
};

// Where a cold start's time goes, in ms from the navigation (resource timing of the page and of
// the worker, whose clock starts when it does): the page's modules, the engine's download and
// streaming compilation (on the page), the worker's start, the model's download (in the worker).
async function coldTimeline(page, worker, modelPath) {
  const entries = () => ({
    origin: performance.timeOrigin,
    res: performance.getEntriesByType('resource').map((e) => ({ name: e.name, start: e.startTime, end: e.responseEnd })),
    marks: Object.fromEntries(performance.getEntriesByType('mark').map((e) => [e.name, e.startTime])),
  });
  const onPage = await page.evaluate(entries);
  const inWorker = worker ? await worker.evaluate(entries) : null;
  const wasm = onPage.res.find((r) => /_bg\.wasm$/.test(r.name));
  // The page's own modules: those asked for before the engine (the worker's come later).
  const js = onPage.res.filter((r) => /\/www\/.*\.js$/.test(r.name) && r.start < (wasm?.start ?? Infinity));
  const shift = inWorker ? inWorker.origin - onPage.origin : NaN;
  const model = inWorker?.res.find((r) => r.name.endsWith(modelPath));
  const round = (x) => Math.round(x);
  const inWorkerAt = (name) => round((inWorker?.marks[`simsong:${name}`] ?? NaN) + shift);
  return {
    pageModulesLoaded: round(Math.max(...js.map((r) => r.end))),
    engineCompileStart: round(wasm?.start ?? NaN),
    engineDownloaded: round(wasm?.end ?? NaN),
    engineCompiled: round(onPage.marks['simsong:engine-compiled'] ?? NaN),
    workerStarted: round(shift),
    engineReadyInWorker: inWorkerAt('engine-ready'),
    analyserReady: inWorkerAt('analyser-ready'),
    modelReaderBuilt: inWorkerAt('model-reader'),
    modelFetched: round(model ? model.end + shift : NaN),
    modelBuildStart: inWorkerAt('model-build-start'),
    modelBuilt: inWorkerAt('model-built'),
    indexLoaded: inWorkerAt('index-ready'),
  };
}

// One cold start in a fresh context (empty HTTP and code caches); then, with `drop`, the MP3
// dropped on the element until its results are shown.
let info = null;
async function coldRun(drop) {
  const page = await newPage(env);
  const workers = [];
  page.on('worker', (w) => workers.push(w));
  await page.goto(url);
  // Event times are performance.now(): milliseconds since the navigation started.
  const ready = await page.nthEvent('ready', 1, 120000);
  // The analyser loads only once a visitor starts to bring a song: here, as soon as the catalog
  // is in (the earliest a drop can come).
  await page.evaluate(() => {
    document.querySelector('similar-songs').prepareAnalysis();
  });
  const model = await page.nthEvent('modelready', 1, 120000);
  const timeline = await coldTimeline(page, workers[0], modelUrl);
  info ||= await page.evaluate(() => {
    const host = document.querySelector('similar-songs');
    return { tracks: host.trackCount, model: host.modelInfo.model.name, trained: host.modelInfo.model.trained };
  });
  // Drop the MP3 on the element (a real drop event with a File), until the results are shown.
  const dropped =
    drop &&
    (await page.evaluate(async (b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const data = new DataTransfer();
      data.items.add(new File([bytes], 'three_minutes.mp3', { type: 'audio/mpeg' }));
      const host = document.querySelector('similar-songs');
      const shown = new Promise((ok) => host.addEventListener('results', ok, { once: true }));
      const t0 = performance.now();
      host.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
      await shown;
      const t1 = performance.now();
      // Wait for the frame that paints the list, too.
      await new Promise((ok) => requestAnimationFrame(() => setTimeout(ok, 0)));
      const facts = host.shadowRoot.querySelector('.ref-facts').textContent;
      return { toResults: t1 - t0, toPaint: performance.now() - t0, analysisMs: Number(/analysed in (\d+) ms/.exec(facts)?.[1]) };
    }, mp3.toString('base64')));
  if (page.problems.length) throw new Error(`page problems: ${page.problems.join('; ')}`);
  await page.context().close();
  return { indexMs: ready.t, modelMs: model.t, ...dropped, timeline: { ...timeline, indexReady: ready.t, modelReady: model.t } };
}

// The model over a slower link than localhost (a visitor's 20 Mbit/s: 2.5 MB/s, sent
// uncompressed), where the worker is idle while it downloads.
const SLOW_MODEL_BYTES_PER_SECOND = 2_500_000;
const runs = [];
const slowRuns = [];
try {
  for (let run = 0; run < RUNS; run++) {
    const r = await coldRun(true);
    runs.push(r);
    console.error(`run ${run + 1}/${RUNS}: index ${r.indexMs.toFixed(0)} ms, model ${r.modelMs.toFixed(0)} ms, ` + `drop→results ${r.toResults.toFixed(0)} ms (analysis ${r.analysisMs} ms)`);
  }
  env.faults = (path) => (`/${path}` === modelUrl ? { bytesPerSecond: SLOW_MODEL_BYTES_PER_SECOND } : null);
  for (let run = 0; run < RUNS; run++) {
    const r = await coldRun(false);
    slowRuns.push(r);
    console.error(`model at ${SLOW_MODEL_BYTES_PER_SECOND / 1e6} MB/s, run ${run + 1}/${RUNS}: model ${r.modelMs.toFixed(0)} ms`);
  }
} finally {
  env.faults = null;
  await env.close();
}

// Over the runs in which the step happened (the model reader is built only when the model is
// still downloading once the catalog is in), with how many those were.
const timelineStats = (rs) =>
  Object.fromEntries(
    Object.keys(rs[0].timeline).map((k) => {
      const seen = rs.map((r) => r.timeline[k]).filter(Number.isFinite);
      return [k, seen.length ? { ...stats(seen), runs: seen.length } : null];
    }),
  );
const result = {
  date: new Date().toISOString(),
  browser: `Chromium ${env.browser.version()} (headless, Debian)`,
  cpu: `${cpus()[0]?.model} × ${cpus().length}`,
  runs: RUNS,
  catalog: { source: demo ? 'demo-data/catalog/' : 'test fixtures', tracks: info.tracks },
  model: { name: info.model, trained: info.trained },
  input: { file: 'bench/out/three_minutes.mp3', seconds: 180, format: 'MP3 44.1 kHz stereo 128 kb/s', bytes: statSync(MP3).size },
  coldStartIndexMs: stats(runs.map((r) => r.indexMs)).median,
  coldStartModelMs: stats(runs.map((r) => r.modelMs)).median,
  coldStart: { indexMs: stats(runs.map((r) => r.indexMs)), modelMs: stats(runs.map((r) => r.modelMs)) },
  dropToResultsMs: stats(runs.map((r) => r.toResults)),
  dropToPaintMs: stats(runs.map((r) => r.toPaint)),
  analysisMs: stats(runs.map((r) => r.analysisMs)),
  coldTimeline: timelineStats(runs),
  slowModel: {
    bytesPerSecond: SLOW_MODEL_BYTES_PER_SECOND,
    modelBytes: statSync(join(ROOT, modelUrl.slice(1))).size,
    indexMs: stats(slowRuns.map((r) => r.indexMs)),
    modelMs: stats(slowRuns.map((r) => r.modelMs)),
    timeline: timelineStats(slowRuns),
  },
  wasmBytes: statSync(join(ROOT, 'pkg/simsong_bg.wasm')).size,
};
writeFileSync(join(OUT, 'browser.json'), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));

// The page under pressure, in headless Chromium under the strict CSP: the bad-input matrix
// dropped into <similar-songs> (an hour of audio included, with the engine's memory stated),
// damaged or foreign manifests and models, a worker that dies, and twenty rapid clicks and drops.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ARTIFACTS, MODEL, ROOT, demoUrl, newPage, setUp } from './harness.mjs';
import { cases, codeMatches } from '../bad-input/matrix.mjs';
import { tempDir } from '../temp-dir.mjs';

const skip = !process.env.SIMSONG_BIN && 'SIMSONG_BIN (the native CLI) is needed to build the test catalog';
const el = 'similar-songs';
// The engine's wasm memory after every case of the matrix, the hour-long file included.
const ENGINE_MEMORY_CAP_BYTES = 64 * 2 ** 20;
let env;

before(async () => {
  if (!skip) env = await setUp();
});
after(() => env?.close());

async function open(url) {
  const page = await newPage(env);
  await page.goto(url);
  return page;
}

async function openDemo() {
  const page = await open(demoUrl(env));
  await page.nthEvent('indexcomplete'); // the tags and tempi, for the filters
  await page.prepareAnalysis();
  return page;
}

const statusText = (page) => page.locator(`${el} >> .status-text`).textContent();
const outcomes = (page) => page.evaluate(() => window.__events.filter((e) => e.type === 'results' || e.type === 'error').length);

test('the bad-input matrix dropped into the page: clear messages or results, bounded memory', { skip }, async () => {
  const page = await openDemo();
  const input = page.locator(`${el} >> .drop input[type=file]`);
  const dir = tempDir('simsong-matrix-');
  const failures = [];
  let memory = 0;
  for (const c of cases()) {
    const before = await outcomes(page);
    const restarts = (await page.events('workerrestart')).length;
    // Large files go by path: Playwright does not pass buffers over 50 MB.
    if (c.bytes.length > 20e6) {
      writeFileSync(join(dir, c.name), c.bytes);
      await input.setInputFiles(join(dir, c.name));
    } else {
      await input.setInputFiles({ name: c.name, mimeType: 'application/octet-stream', buffer: Buffer.from(c.bytes) });
    }
    await page.waitForFunction((n) => window.__events.filter((e) => e.type === 'results' || e.type === 'error').length > n, before, { timeout: 60000 });
    const last = (await page.events()).filter((e) => e.type === 'results' || e.type === 'error').at(-1);
    if (c.wasmTrap) await page.nthEvent('workerrestart', restarts + 1); // a fresh worker takes over
    const expect = c.page ?? c.expect;
    if (expect.error) {
      // "Cannot analyse “name”: <the engine's message>", or the page's own words for unreadable files.
      const detail = last.message?.replace(/^Cannot analyse “[^”]*”: /, '');
      const ok = last.type === 'error' && last.stage === 'analysis' && new RegExp(expect.error).test(detail) && last.message.includes(c.name) && codeMatches(expect.code, last.code);
      if (!ok) failures.push(`${c.name}: ${JSON.stringify(last)} instead of an error /${expect.error}/`);
      else if ((await page.locator(`${el} >> .status`).getAttribute('data-kind')) !== 'error') failures.push(`${c.name}: not shown as an error`);
    } else if (last.type !== 'results' || last.reference !== c.name) {
      failures.push(`${c.name}: ${JSON.stringify(last)} instead of results`);
    } else {
      const [lo, hi] = expect.seconds;
      if (!(last.seconds >= lo && last.seconds <= hi)) failures.push(`${c.name}: ${last.seconds} s, expected ${lo}..${hi}`);
      if (last.ids.length === 0) failures.push(`${c.name}: no similar songs`);
      memory = Math.max(memory, last.memory);
    }
  }
  assert.deepEqual(failures, []);
  console.log(`engine (wasm) memory after the matrix, an hour of audio included: ${(memory / 2 ** 20).toFixed(0)} MiB`);
  assert.ok(memory > 0 && memory <= ENGINE_MEMORY_CAP_BYTES, `engine memory ${memory} bytes`);
  // Still responsive, and the catalog still searchable.
  await page.locator(`${el} >> .clear`).click();
  await page.locator(`${el} >> button[aria-label="Find songs similar to Sine 440"]`).click();
  await page.waitForFunction(() => window.__events.at(-1)?.type === 'results' && window.__events.at(-1).reference === 'sine');
  // The one console error allowed: the panic message of the case that traps the engine.
  assert.deepEqual(
    page.problems.filter((p) => !/^console: panicked at .*symphonia-codec-aac/.test(p)),
    [],
  );
  assert.deepEqual(await page.cspViolations(), []);
  await page.context().close();
});

test('damaged or foreign indexes and models are reported; what can work keeps working', { skip }, async () => {
  // The manifest: what a page loads first. (Damaged and foreign parts: parts-faults.test.mjs.)
  const good = readFileSync(join(env.catalogDir, 'catalog/index.json'));
  const variant = (name, bytes) => {
    writeFileSync(join(env.catalogDir, name), bytes);
    return `/e2e/${name}`;
  };
  const json = JSON.parse(good);
  const indexes = [
    ['truncated', variant('truncated.json', good.subarray(0, good.length >> 1)), /not valid JSON/],
    ['future version', variant('future.json', JSON.stringify({ ...json, version: json.version + 1 })), new RegExp(`format version ${json.version + 1}`)],
    ['a web page', variant('html.json', '<!DOCTYPE html><html><body>Not found</body></html>'), /web page \(HTML\)/],
    ['a one-file index', `/e2e/catalog.idx`, /one-file index .*simsong index merge/],
    [
      'lies about a part',
      variant('lying.json', JSON.stringify({ ...json, generations: [{ ...json.generations[0], rerank: { ...json.generations[0].rerank, bytes: 1e9 } }] })),
      /re-ranking part must hold/,
    ],
  ];
  for (const [what, url, message] of indexes) {
    const page = await open(`${env.origin}/?model=/${MODEL}&index=${url}`);
    const error = await page.nthEvent('error');
    assert.equal(error.stage, 'index', what);
    assert.match(error.message, message, what);
    assert.match(await statusText(page), /The catalog could not be loaded/, what);
    assert.deepEqual(await page.cspViolations(), []);
    await page.context().close();
  }

  // A model that is not one, a valid model that did not build this index, the ONNX form (the
  // browser engine reads the NNEF export), and an archive with one weight changed.
  writeFileSync(join(env.catalogDir, 'garbage.nnef.tar'), Buffer.from('this is not a model at all'.repeat(40)));
  writeFileSync(join(env.catalogDir, 'other.nnef.tar'), readFileSync(join(ROOT, 'tests/fixtures/models/test-untrained.nnef.tar')));
  writeFileSync(join(env.catalogDir, 'model.onnx'), readFileSync(join(ROOT, MODEL.replace(/\.nnef\.tar$/, '.onnx'))));
  const edited = Buffer.from(readFileSync(join(ROOT, MODEL)));
  const lastDat = Math.floor(edited.lastIndexOf('.dat\0') / 512) * 512; // its tar header
  edited[lastDat + 512 + 130] ^= 0x40; // a byte of that weight tensor (past its 128-byte header)
  writeFileSync(join(env.catalogDir, 'edited.nnef.tar'), edited);
  for (const [model, problem] of [
    ['garbage.nnef.tar', /song analysis is unavailable: invalid model/],
    ['other.nnef.tar', /the model does not match this catalog/],
    ['model.onnx', /song analysis is unavailable: .*looks like an ONNX file.*simsong model-export/],
    ['edited.nnef.tar', /song analysis is unavailable: .*damaged or was edited/],
  ]) {
    const page = await open(`${env.origin}/?model=/e2e/${model}&index=/e2e/catalog/index.json`);
    await page.nthEvent('indexcomplete'); // the tags and tempi, for the filters
    // (A visitor starts to bring a song: only then is the model fetched and checked.)
    await page.evaluate(() => document.querySelector('similar-songs').prepareAnalysis());
    const warning = page.locator(`${el} >> .warning`);
    await warning.waitFor({ state: 'visible' });
    assert.match(await warning.textContent(), problem, model);
    assert.match(await page.locator(`${el} >> label.drop`).getAttribute('class'), /disabled/);
    await page.locator(`${el} >> button[aria-label="Find songs similar to Sine 440"]`).click();
    assert.equal((await page.nthEvent('results')).reference, 'sine', `${model}: track search still works`);
    await page.context().close();
  }
});

test('a failing worker is reported and recovers; one that keeps failing is given up', { skip }, async () => {
  const page = await openDemo();
  await page.locator(`${el} >> button[aria-label="Find songs similar to Sine 440"]`).click();
  await page.nthEvent('results');
  // An uncaught trap in the worker, as a Rust panic or exhausted wasm memory would raise.
  const crash = (worker) =>
    worker.evaluate(() => {
      setTimeout(() => {
        throw new WebAssembly.RuntimeError('unreachable executed (simulated trap)');
      });
    });
  const engineWorker = () => page.workers().at(-1);
  await crash(engineWorker());
  const error = await page.nthEvent('error');
  assert.equal(error.stage, 'worker');
  assert.match(error.message, /simulated trap/);
  await page.nthEvent('workerrestart');
  assert.match(await statusText(page), /failed .*simulated trap.* and was restarted/);
  assert.ok((await page.locator(`${el} >> .row`).count()) > 0, 'the results stay on screen');
  await page.screenshot({ path: join(ARTIFACTS, 'worker-restarted.png') });
  // The fresh worker has the index and the model again: a file search works.
  await page.locator(`${el} >> .drop input[type=file]`).setInputFiles(join(ROOT, 'tests/fixtures/audio/real_music_b_16k.wav'));
  const results = await page.nthEvent('results', 2);
  assert.equal(results.reference, 'real_music_b_16k.wav');
  assert.equal(results.ids[0], 'lugaru');

  // Three more failures within a minute: no endless respawning, a clear message instead.
  for (let i = 2; i <= 4; i++) {
    const next = i < 4 ? page.waitForEvent('worker') : null;
    await crash(engineWorker());
    await page.nthEvent('error', i);
    await next;
  }
  await page.waitForFunction(() => /Search stopped working/.test(document.querySelector('similar-songs').shadowRoot.querySelector('.status-text').textContent));
  assert.match(await statusText(page), /failed 4 times in a minute/);
  assert.deepEqual(await page.cspViolations(), []);
  await page.context().close();
});

test('an hour-long file shows its progress as a percentage, and a newer search stops it at once', { skip }, async () => {
  const page = await openDemo();
  const hour = cases().find((c) => c.name === 'one-hour.wav');
  const dir = tempDir('simsong-hour-');
  writeFileSync(join(dir, hour.name), hour.bytes);
  await page.locator(`${el} >> .drop input[type=file]`).setInputFiles(join(dir, hour.name));
  // Decoding an hour takes seconds in wasm: the stage and its share arrive several times a second.
  await page.waitForFunction(() => window.__events.some((e) => e.type === 'progress' && e.stage === 'decode' && e.fraction >= 0.1), null, { timeout: 30000 });
  const decoding = (await page.events('progress')).filter((e) => e.stage === 'decode');
  assert.ok(decoding.length >= 2, JSON.stringify(decoding));
  const fractions = decoding.map((e) => e.fraction);
  assert.ok(
    fractions.every((f, i) => f >= 0 && f <= 1 && (i === 0 || f >= fractions[i - 1])),
    `rising: ${fractions}`,
  );
  assert.match(await statusText(page), /Analysing “one-hour\.wav”… decoding \d+%/);
  assert.equal(await page.locator(`${el} >> .status progress`).isVisible(), true);
  const bar = await page.locator(`${el} >> .status progress`).evaluate((p) => [p.value, p.max]);
  assert.ok(bar[0] > 0 && bar[0] <= bar[1], `a determinate bar: ${bar}`);

  // A catalog search supersedes the analysis: its results come without waiting for the hour, and
  // the analysis reports nothing more (the worker dropped it after its current step).
  const clicked = await page.evaluate(() => performance.now());
  await page.locator(`${el} >> button[aria-label="Find songs similar to Sine 440"]`).click();
  // Had the analysis run on, the hour's own results would come first (after ~18 s): the first
  // results must be the catalog search's.
  const results = await page.nthEvent('results');
  assert.equal(results.reference, 'sine');
  await page.waitForTimeout(1500);
  const late = (await page.events('progress')).filter((e) => (e.stage === 'decode' || e.stage === 'analysis') && e.t > results.t);
  assert.deepEqual(late, [], 'no analysis progress after the newer search answered');
  const all = await page.events('progress');
  const lastDecode = all.filter((e) => e.stage === 'decode').at(-1);
  assert.ok(lastDecode.fraction < 0.9, `stopped part-way (${lastDecode.fraction})`);
  assert.deepEqual(
    (await page.events('results')).map((e) => e.reference),
    ['sine'],
    'the hour never answered',
  );
  console.log(`superseded analysis: results of the newer search ${(results.t - clicked).toFixed(0)} ms after the click`);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test("twenty rapid clicks and drops end with the last one's results only", { skip }, async () => {
  const page = await openDemo();
  const outcome = await page.evaluate(async () => {
    const host = document.querySelector('similar-songs');
    const root = host.shadowRoot;
    const bytes = await (await fetch('/tests/fixtures/audio/real_music_a_44k.wav')).arrayBuffer();
    const titles = ['Menu theme', 'Noise', 'Clicks', 'Chirp <img src=x>', 'Sine 1k stereo'];
    const actions = [];
    for (let i = 0; i < 20; i++) {
      if (i % 4 === 1) {
        // A real drop: DataTransfer with a File, dragover then drop on the element.
        const data = new DataTransfer();
        data.items.add(new File([bytes], `drop-${i}.wav`, { type: 'audio/wav' }));
        host.dispatchEvent(new DragEvent('dragover', { dataTransfer: data, bubbles: true, cancelable: true }));
        host.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
        actions.push(`drop-${i}.wav`);
      } else {
        // A click on a "Similar" button of whatever list is on screen now (the last one on "Sine
        // 440"). A list still filling in its rows' details may show none of them yet: wait for one.
        const button = (t) => root.querySelector(`button[aria-label="Find songs similar to ${t}"]`);
        const pick = () => (i === 19 ? ['Sine 440'] : titles).find(button);
        let title = pick();
        for (let wait = 0; !title && wait < 100; wait++) {
          await new Promise((r) => setTimeout(r, 20));
          title = pick();
        }
        button(title).click();
        actions.push(title);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    await new Promise((r) => setTimeout(r, 4000)); // every analysis has finished by now
    return { actions, shown: window.__events.filter((e) => e.type === 'results').map((e) => e.reference) };
  });
  assert.equal(outcome.actions.at(-1), 'Sine 440');
  assert.equal(outcome.shown.at(-1), 'sine', `last results shown: ${outcome.shown}`);
  assert.equal(await page.locator(`${el} >> .ref-title`).textContent(), 'Sine 440');
  assert.ok(outcome.shown.length < 20, `superseded searches were dropped (${outcome.shown.length} shown)`);
  assert.deepEqual(await page.events('error'), []);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

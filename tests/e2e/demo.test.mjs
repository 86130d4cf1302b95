// The demo page in headless Chromium over a small catalog built from the fixture audio: browse,
// "similar", dropping files, tag filters, playback, keyboard, errors, superseded searches.
// Screenshots go to test-artifacts/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ARTIFACTS, MODEL, ROOT, demoUrl, newPage, setUp } from './harness.mjs';
import { tempDir } from '../temp-dir.mjs';

const skip = !process.env.SIMSONG_BIN && 'SIMSONG_BIN (the native CLI) is needed to build the test catalog';
const AUDIO = join(ROOT, 'tests/fixtures/audio');
const noFfmpeg = (() => {
  try {
    execFileSync('ffmpeg', ['-version'], { stdio: 'ignore' });
    return false;
  } catch {
    return 'ffmpeg is not installed (it makes the Opus file)';
  }
})();
const el = 'similar-songs';
let env;

before(async () => {
  if (!skip) env = await setUp();
});
after(() => env?.close());

async function openDemo(extra = '') {
  const page = await newPage(env);
  await page.goto(demoUrl(env, extra));
  await page.nthEvent('indexcomplete'); // the tags and tempi, for the filters
  await page.prepareAnalysis();
  return page;
}

const rowTitles = (page) => page.locator(`${el} >> .row .title`).allTextContents();
const statusText = (page) => page.locator(`${el} >> .status-text`).textContent();

async function assertClean(page) {
  assert.deepEqual(page.problems, [], 'no console errors, page errors or requests elsewhere');
  assert.deepEqual(await page.cspViolations(), [], 'no CSP violations');
}

async function shot(page, name) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

test('the demo page lists the catalog, as text (and warns when the model is untrained)', { skip }, async () => {
  const page = await openDemo();
  // Chromium has relaxed SIMD: the worker loads that build of the engine.
  assert.equal((await page.nthEvent('modelready')).engineBuild, 'relaxed-simd');
  // The catalog's first page may arrive after the model is ready (the worker does both).
  await page.waitForFunction(() => document.querySelector('similar-songs').shadowRoot.querySelectorAll('.row').length === 8);
  const titles = await rowTitles(page);
  assert.equal(titles.length, 8);
  assert.ok(titles.includes('Theme <b>bold</b>'), 'markup in titles is shown as text');
  assert.equal(await page.locator(`${el} >> .list img, ${el} >> .list b`).count(), 0, 'no element from catalog text');
  // A hostile tag value is a filter chip like any other, as text; nothing from it is parsed.
  await page.nthEvent('indexcomplete');
  assert.equal(await page.locator(`${el} >> .chip:has-text("<img src=x onerror=window.__xss=1>")`).count(), 1);
  assert.equal(await page.evaluate(() => document.querySelector('similar-songs').shadowRoot.querySelectorAll('img, script, svg, iframe, object').length), 0);
  assert.equal(await page.evaluate(() => window.__xss), undefined);
  const warning = page.locator(`${el} >> .warning`);
  if (MODEL.includes('untrained')) assert.match(await warning.textContent(), /untrained test fixture/);
  assert.match(await page.locator(`${el} >> .rights`).first().textContent(), /Licence: Free Art License 1\.2 · Amoebax/);
  await shot(page, 'demo-catalog');
  await assertClean(page);
  await page.context().close();
});

test('"Similar" on a catalog track lists scored results', { skip }, async () => {
  const page = await openDemo();
  await page.locator(`${el} >> .row:has-text("Menu theme") >> .similar`).first().click();
  const results = await page.nthEvent('results');
  assert.equal(results.reference, 'menu');
  assert.equal(results.ids.length, 7, 'every other track (k=20), the reference left out');
  assert.equal(results.ids[0], 'menu-flac', 'the same recording in FLAC comes first');
  assert.equal(await page.locator(`${el} >> .ref-title`).textContent(), 'Menu theme');
  assert.match(await page.locator(`${el} >> .score-value`).first().textContent(), /^\d+%$/);
  assert.equal((await rowTitles(page))[0], 'Menu theme (FLAC master)');
  await shot(page, 'demo-similar-track');
  await assertClean(page);
  await page.context().close();
});

test('versions of one song are one row with "+N versions", or a row each with versions="separate"', { skip }, async () => {
  const page = await openDemo();
  await page.setInputFiles(`${el} >> .drop input[type=file]`, join(AUDIO, 'real_music_a_44k.ogg'));
  const grouped = await page.nthEvent('results');
  // The catalog's MP3 and FLAC of "Menu theme" are versions (the audit found them): one row.
  const row = grouped.rows.findIndex((id) => id.startsWith('menu'));
  assert.equal(row, 0, JSON.stringify(grouped));
  assert.deepEqual([grouped.rows[0], ...grouped.versions[0]].sort(), ['menu', 'menu-flac']);
  assert.equal(grouped.rows.length, 7, 'every other song a row of its own');
  const toggle = page.locator(`${el} >> .row >> nth=0 >> .versions-toggle`);
  assert.equal(await toggle.textContent(), '+1 version');
  assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
  const list = page.locator(`${el} >> .row >> nth=0 >> .versions`);
  assert.equal(await list.isVisible(), false);
  await toggle.click();
  assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
  assert.equal(await list.isVisible(), true);
  const other = grouped.versions[0][0] === 'menu' ? 'Menu theme' : 'Menu theme (FLAC master)';
  assert.equal(await list.locator('.version-title').textContent(), other);
  // The keyboard: V on the selected row closes and opens its versions.
  await page.evaluate(() => document.querySelector('similar-songs').shadowRoot.querySelector('.list').focus());
  await page.keyboard.press('v');
  assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
  await page.keyboard.press('v');
  assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
  assert.match(await list.locator('.version-meta').textContent(), /^0:06 · \d+% match$/);
  assert.equal(await page.locator(`${el} >> .versions-toggle`).count(), 1, 'no other song has versions');
  await shot(page, 'demo-versions');

  // Grouping off: the same ranking, a row each.
  await page.evaluate(() => {
    document.querySelector('similar-songs').versions = 'separate';
  });
  const separate = await page.nthEvent('results', 2);
  assert.deepEqual([...separate.rows].sort(), [...grouped.ids].sort(), 'the rows are the grouped results unfolded');
  assert.equal(separate.rows.length, 8);
  assert.equal(await page.locator(`${el} >> .versions-toggle`).count(), 0);
  await assertClean(page);
  await page.context().close();
});

test('a chosen file is analysed in the worker with progress, drawn, and searched', { skip }, async () => {
  const page = await openDemo();
  // Record what the status said while the element was busy.
  await page.evaluate(() => {
    const host = document.querySelector('similar-songs');
    window.__busy = [];
    new MutationObserver(() => {
      if (host.hasAttribute('busy')) {
        const status = host.shadowRoot.querySelector('.status');
        window.__busy.push({ text: status.textContent, progress: !status.querySelector('progress').hidden });
      }
    }).observe(host, { attributes: true, attributeFilter: ['busy'] });
  });
  await page.setInputFiles(`${el} >> .drop input[type=file]`, join(AUDIO, 'real_music_a_44k.ogg'));
  const results = await page.nthEvent('results');
  assert.equal(results.reference, 'real_music_a_44k.ogg');
  assert.deepEqual(results.ids.slice(0, 2).sort(), ['menu', 'menu-flac'], 'the same music ranks first');
  assert.equal(results.rows.filter((id) => id.startsWith('menu')).length, 1, 'the MP3 and the FLAC of one recording are one row');
  const busy = await page.evaluate(() => window.__busy);
  assert.ok(
    busy.some((b) => b.progress && /Analysing “real_music_a_44k\.ogg”/.test(b.text)),
    JSON.stringify(busy),
  );
  const mel = page.locator(`${el} >> canvas.mel`);
  assert.ok(await mel.isVisible());
  assert.ok((await mel.evaluate((c) => c.width)) > 100, 'a spectrogram was drawn');
  assert.match(await page.locator(`${el} >> .ref-facts`).textContent(), /vorbis, 44100 Hz, 2 ch/);
  assert.match(await statusText(page), /similar songs/);
  await shot(page, 'demo-file');

  // A tag filter searches the same file again (kept in the worker); its picture stays.
  await page.locator(`${el} >> .chip:has-text("recording")`).click();
  const filtered = await page.nthEvent('results', 2);
  assert.equal(filtered.reference, 'real_music_a_44k.ogg');
  assert.deepEqual(filtered.ids.sort(), ['lugaru', 'menu', 'menu-flac']);
  assert.ok(await mel.isVisible());
  await page.locator(`${el} >> .chip:has-text("recording")`).click();
  await page.nthEvent('results', 3);

  // Drag and drop (a real DataTransfer with a File) replaces the reference.
  await page.evaluate(async () => {
    const bytes = await (await fetch('/tests/fixtures/audio/real_music_b_16k.wav')).arrayBuffer();
    const data = new DataTransfer();
    data.items.add(new File([bytes], 'dropped.wav', { type: 'audio/wav' }));
    const host = document.querySelector('similar-songs');
    host.dispatchEvent(new DragEvent('dragover', { dataTransfer: data, bubbles: true, cancelable: true }));
    host.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
  });
  const dropped = await page.nthEvent('results', 4);
  assert.equal(dropped.reference, 'dropped.wav');
  assert.equal(dropped.ids[0], 'lugaru', 'the dropped recording finds itself in the catalog');
  await assertClean(page);
  await page.context().close();
});

test('tag filters narrow the catalog and the results; "outside" inverts them', { skip }, async () => {
  const page = await openDemo();
  const rowCount = (n) => page.waitForFunction((k) => document.querySelector('similar-songs').shadowRoot.querySelectorAll('.row').length === k, n);
  await page.locator(`${el} >> .chip:has-text("calm")`).click();
  await rowCount(2); // the filtered catalog page arrives from the worker
  assert.deepEqual((await rowTitles(page)).sort(), ['Noise', 'Theme <b>bold</b>']);
  await page.locator(`${el} >> .outside input`).check();
  await rowCount(6);
  const outside = await rowTitles(page);
  assert.equal(outside.length, 6);
  assert.ok(!outside.includes('Noise'));
  assert.equal(await page.locator(el).getAttribute('filter'), 'mood:calm', 'the filter is reflected');
  await page.locator(`${el} >> .row:has-text("Menu theme") >> .similar`).first().click();
  const results = await page.nthEvent('results');
  assert.ok(results.ids.length > 0);
  assert.ok(!results.ids.includes('noise') && !results.ids.includes('lugaru'), 'no calm track outside "calm"');
  await shot(page, 'demo-filter-outside');
  // Back inside the tag: the same reference is searched again with the new filter.
  await page.locator(`${el} >> .outside input`).uncheck();
  const inside = await page.nthEvent('results', 2);
  assert.deepEqual(inside.ids.sort(), ['lugaru', 'noise']);
  await assertClean(page);
  await page.context().close();
});

test('play starts a preview (at a given segment) and the audio advances', { skip }, async () => {
  const page = await openDemo();
  const audio = page.locator(`${el} >> audio`);
  await page.locator(`${el} >> .row >> nth=0 >> .play`).click();
  const played = await page.nthEvent('trackplay');
  assert.equal(played.id, 'menu');
  await page.waitForFunction(
    () => {
      const a = document.querySelector('similar-songs').shadowRoot.querySelector('audio');
      return !a.paused && a.currentTime > 0.3;
    },
    null,
    { timeout: 15000 },
  );
  assert.match(await audio.evaluate((a) => a.src), /real_music_a_44k\.mp3$/);
  assert.equal(await page.locator(`${el} >> .play.playing`).count(), 1);
  // Start mid-track, as a result's best-matching segment does (seeking needs byte ranges).
  await page.evaluate(() => document.querySelector('similar-songs').play('lugaru', 3));
  await page.waitForFunction(
    () => {
      const a = document.querySelector('similar-songs').shadowRoot.querySelector('audio');
      return a.src.endsWith('real_music_b_16k.wav') && !a.paused && a.currentTime >= 3;
    },
    null,
    { timeout: 15000 },
  );
  await shot(page, 'demo-playing');
  await assertClean(page);
  await page.context().close();
});

test('keyboard: arrows move the selection and play, Enter searches similar songs', { skip }, async () => {
  const page = await openDemo();
  const list = page.locator(`${el} >> .list`);
  await list.focus();
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  const selected = page.locator(`${el} >> .row[aria-selected="true"] .title`);
  assert.equal(await selected.textContent(), 'Menu theme (FLAC master)');
  const plays = await page.events('trackplay');
  assert.deepEqual(
    plays.map((p) => p.id),
    ['menu', 'menu-flac'],
  );
  await page.waitForFunction(
    () => {
      const a = document.querySelector('similar-songs').shadowRoot.querySelector('audio');
      return a.src.endsWith('real_music_a_44k.flac') && !a.paused;
    },
    null,
    { timeout: 15000 },
  );
  await page.keyboard.press('ArrowUp');
  assert.equal(await selected.textContent(), 'Menu theme');
  await page.keyboard.press('Enter');
  const results = await page.nthEvent('results');
  assert.equal(results.reference, 'menu');
  // The first result is selected; Down plays the next one.
  await page.keyboard.press('ArrowDown');
  assert.equal(await selected.textContent(), (await rowTitles(page))[1]);
  assert.equal(await list.evaluate((l) => l.getRootNode().activeElement === l), true, 'focus stays on the list');
  await shot(page, 'demo-keyboard');
  await assertClean(page);
  await page.context().close();
});

test('an unreadable file shows a clear message', { skip }, async () => {
  const page = await openDemo();
  await page.setInputFiles(`${el} >> .drop input[type=file]`, join(AUDIO, 'bad/text.mp3'));
  const error = await page.nthEvent('error');
  assert.equal(error.stage, 'analysis');
  const status = page.locator(`${el} >> .status`);
  assert.equal(await status.getAttribute('data-kind'), 'error');
  assert.match(await status.textContent(), /“text\.mp3” is not an audio file this page can read/);
  assert.equal((await rowTitles(page)).length, 8, 'the catalog stays usable');
  await shot(page, 'demo-unreadable');
  await page.setInputFiles(`${el} >> .drop input[type=file]`, join(AUDIO, 'bad/silence_16k.wav'));
  await page.nthEvent('error', 2);
  assert.match(await status.textContent(), /Cannot analyse “silence_16k\.wav”: the audio is silent/);
  // The worker survives: a good file still works.
  await page.setInputFiles(`${el} >> .drop input[type=file]`, join(AUDIO, 'real_music_a_44k.mp3'));
  assert.equal((await page.nthEvent('results')).ids[0], 'menu');
  await page.context().close(); // console errors are expected here (none are logged, but not asserted)
});

test('a format only the browser decodes (Opus) is analysed from its PCM', { skip: skip || noFfmpeg }, async () => {
  const opus = join(tempDir('simsong-opus-'), 'song.opus');
  execFileSync('ffmpeg', ['-v', 'error', '-i', join(AUDIO, 'real_music_a_44k.wav'), '-c:a', 'libopus', '-b:a', '96k', opus]);
  const page = await openDemo();
  await page.setInputFiles(`${el} >> .drop input[type=file]`, opus);
  const results = await page.nthEvent('results');
  assert.equal(results.reference, 'song.opus');
  assert.deepEqual(results.ids.slice(0, 2).sort(), ['menu', 'menu-flac']);
  assert.match(await page.locator(`${el} >> .ref-facts`).textContent(), /\(decoded by the browser\)/);
  assert.deepEqual(await page.events('error'), []);
  await assertClean(page);
  await page.context().close();
});

test("twenty rapid searches end with the last one's results only", { skip }, async () => {
  const page = await openDemo();
  const outcome = await page.evaluate(async () => {
    const host = document.querySelector('similar-songs');
    const bytes = await (await fetch('/tests/fixtures/audio/real_music_a_44k.wav')).arrayBuffer();
    const ids = ['menu', 'lugaru', 'noise', 'chirp', 'sine'];
    const names = [];
    const calls = [];
    // Spaced a little so some answers are already on their way when the next search starts;
    // every third one analyses a file (slow, so the next ones overtake it); the last is a track.
    for (let i = 0; i < 20; i++) {
      const file = i % 3 === 1 && i < 19;
      names.push(file ? `file-${i}.wav` : ids[i % 5]);
      calls.push(file ? host.searchByFile(new File([bytes], names[i])) : host.searchByTrack(names[i]));
      await new Promise((r) => setTimeout(r, 4));
    }
    const answers = await Promise.all(calls);
    await new Promise((r) => setTimeout(r, 300)); // anything late would show up now
    const spaced = window.__events.filter((e) => e.type === 'results').map((e) => e.reference);
    // Twenty at once: only the last is shown.
    window.__events.length = 0;
    const burst = await Promise.all(ids.concat(ids, ids, ids).map((id) => host.searchByTrack(id)));
    await new Promise((r) => setTimeout(r, 300));
    const burstShown = window.__events.filter((e) => e.type === 'results').map((e) => e.reference);
    const lengths = (list) => list.map((a) => (a === null ? null : a.length)); // null: overtaken
    return { names, answers: lengths(answers), spaced, burst: lengths(burst), burstShown };
  });
  const { names, answers, spaced } = outcome;
  // Shown results follow the calls' order: each one comes from a later call than the one before.
  let position = -1;
  for (const ref of spaced) {
    position = names.indexOf(ref, position + 1);
    assert.ok(position >= 0, `results shown in call order: ${spaced} (calls: ${names})`);
  }
  assert.equal(spaced.at(-1), names[19], "the last search's results are what remains");
  assert.ok(answers[19] > 0);
  assert.ok(answers.filter((a) => a === null).length >= 6, `overtaken searches resolve to null: ${answers}`);
  assert.equal(answers.filter((a) => a !== null).length, spaced.length, 'one result list per answered search');
  assert.deepEqual(outcome.burstShown, ['sine']);
  assert.deepEqual(outcome.burst.slice(0, 19), Array(19).fill(null));
  assert.equal(await page.locator(`${el} >> .ref-title`).textContent(), 'Sine 440');
  await assertClean(page);
  await page.context().close();
});

test('without a model, the page says so and track search still works', { skip }, async () => {
  const page = await newPage(env);
  await page.goto(`${env.origin}/?index=/e2e/catalog/index.json&model=/models/missing.onnx`);
  await page.nthEvent('indexcomplete'); // the tags and tempi, for the filters
  // The model is asked for only when a song is brought: until then nothing is amiss.
  assert.deepEqual(await page.events('error'), []);
  assert.equal(await page.evaluate(() => document.querySelector('similar-songs').prepareAnalysis()), null);
  const error = await page.nthEvent('error');
  assert.equal(error.stage, 'model');
  assert.match(
    await page.locator(`${el} >> .warning`).textContent(),
    /Dropping a song will not work: song analysis is unavailable: cannot load the analysis model from .*missing\.onnx \(HTTP 404\)\. “Similar” on catalog tracks still works\./,
  );
  // A failed load is tried again when a song is brought again (a network blip need not last).
  assert.equal(await page.evaluate(() => document.querySelector('similar-songs').prepareAnalysis()), null);
  assert.equal((await page.nthEvent('error', 2)).stage, 'model');
  // the row of the track titled "Theme <b>bold</b>" (id lugaru); browse order follows the index
  await page.locator(`${el} >> .row:has-text("Theme <b>bold</b>") >> .similar`).click();
  assert.equal((await page.nthEvent('results')).reference, 'lugaru');
  await shot(page, 'demo-no-model');
  await page.context().close();
});

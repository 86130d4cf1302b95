// The demo page's core journeys in all three browser engines, with the same assertions in each:
// Chromium (playwright-core), Firefox ESR (puppeteer-core over WebDriver BiDi) and WebKitGTK
// (WebKitWebDriver under Xvfb); see tests/e2e/engines/drivers.mjs. Loading and the engine
// build the browser gets, "Similar" on a track, a chosen and a dropped file with progress, tag
// filters and "outside", the keyboard, unreadable and silent files, all under the strict CSP.
// Chromium-only depth (faults, worker crashes, hour-long files, playback) stays in the other files.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer } from '../../scripts/serve.mjs';
import { buildCatalog, INDEX_MODEL, MODEL, ROOT, writeMedley } from './catalog.mjs';
import { ENGINES, launch, missing } from './engines/drivers.mjs';
import { cases, codeMatches } from '../bad-input/matrix.mjs';
import { tempDir } from '../temp-dir.mjs';

const ARTIFACTS = join(ROOT, 'test-artifacts', 'engines');
const AUDIO = join(ROOT, 'tests/fixtures/audio');
const noCli = !process.env.SIMSONG_BIN && 'SIMSONG_BIN (the native CLI) is needed to build the test catalog';
// SIMSONG_ENGINES=firefox,webkit runs a subset (by hand); npm test runs all three.
const chosen = (process.env.SIMSONG_ENGINES || ENGINES.join(',')).split(',');

let server;
let origin;
let catalogDir;
let medley; // 6 s of "Menu theme" then 6 s of "Theme <b>bold</b>" (16 kHz mono WAV)
// While set, the model is sent at this many bytes per second (a visitor on a slow network).
let modelBytesPerSecond = null;
before(async () => {
  if (noCli) return;
  catalogDir = tempDir('simsong-engines-');
  buildCatalog(catalogDir);
  server = await startServer(0, '127.0.0.1', {
    mounts: { 'e2e/': catalogDir, 'probe/': join(ROOT, 'tests/e2e/engines') },
    inject: '/probe/page-probe.js',
    faults: (path) => (modelBytesPerSecond && path === MODEL ? { bytesPerSecond: modelBytesPerSecond } : null),
  });
  origin = `http://127.0.0.1:${server.address().port}`;
  mkdirSync(ARTIFACTS, { recursive: true });
  medley = writeMedley(catalogDir);
});
after(() => server && new Promise((ok) => server.close(ok)));

/** Adds the scenario helpers to a driver page (everything asserted is read from the page). */
function helpers(page) {
  const waitFor = async (fn, arg, what, timeoutMs = 60000) => {
    const start = Date.now();
    for (;;) {
      const value = await page.evaluate(fn, arg);
      if (value) return value;
      if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const events = (type) => page.evaluate((t) => window.__events.filter((e) => !t || e.type === t), type ?? null);
  return {
    ...page,
    waitFor,
    events,
    /** The n-th event of `type` (1-based), waiting for it. */
    async nthEvent(type, n = 1, timeoutMs = 60000) {
      await waitFor(([t, k]) => window.__events.filter((e) => e.type === t).length >= k, [type, n], `${type} event #${n}`, timeoutMs);
      return (await events(type))[n - 1];
    },
    /** Text of the first element matching `sel` in the element's shadow root. */
    text: (sel) => page.evaluate((s) => document.querySelector('similar-songs').shadowRoot.querySelector(s)?.textContent ?? null, sel),
    rowTitles: () => page.evaluate(() => [...document.querySelector('similar-songs').shadowRoot.querySelectorAll('.row .title')].map((t) => t.textContent)),
    /**
     * A real pointer click on the element's `sel` (inside the row titled `row`, or whose text
     * includes `text`), scrolled into view first. The point is taken once the target stays put
     * for two frames and is what is under it: the reference panel can still grow (a catalog
     * reference's spectrogram arrives after its results), and a click measured before that lands
     * on whatever moved under the pointer.
     */
    async click(sel, { row = null, text = null } = {}) {
      const at = await page.evaluate(
        async ([s, r, t]) => {
          const root = document.querySelector('similar-songs').shadowRoot;
          const find = () => {
            const scope = r === null ? [root] : [...root.querySelectorAll('.row')].filter((x) => x.querySelector('.title')?.textContent === r);
            return scope.flatMap((x) => [...x.querySelectorAll(s)]).find((x) => t === null || x.textContent.includes(t));
          };
          const frames = () => new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(ok)));
          let last = null;
          for (let tries = 0; tries < 60; tries++) {
            const target = find();
            if (!target) return null;
            target.scrollIntoView({ block: 'center' });
            await frames();
            const b = target.getBoundingClientRect();
            const point = { x: b.left + b.width / 2, y: b.top + b.height / 2 };
            const hit = root.elementFromPoint(point.x, point.y);
            if (last && last.x === point.x && last.y === point.y && hit && target.contains(hit)) return point;
            last = point;
          }
          return null;
        },
        [sel, row, text],
      );
      assert.ok(at, `nothing to click, or it would not stay put: ${sel} ${row ?? ''} ${text ?? ''}`);
      await page.click(at.x, at.y);
    },
    /** Uncaught errors, console errors and CSP violations the page recorded. */
    problems: () => page.evaluate(() => [...window.__problems, ...window.__csp.map((c) => `CSP: ${c}`)]),
  };
}

for (const engine of chosen) {
  describe(engine, { skip: noCli || false }, () => {
    let browser;
    before(async () => {
      // A missing engine fails the run: npm test installs all three (scripts/setup.sh --browser).
      const absent = missing(engine);
      if (absent) throw new Error(`cannot run the ${engine} tests: ${absent}`);
      browser = await launch(engine);
    });
    after(() => browser?.close());

    // Runs `scenario` on a fresh demo page (catalog listed, and the analyser asked for and the
    // model ready, as when a visitor starts to bring a song, unless `slowModel`: then the model
    // is sent over `slowModel` seconds when it is asked for, and the scenario starts as soon as
    // the catalog is listed) and closes the page whatever happens (WebKitWebDriver allows one
    // session at a time).
    function onDemo(name, scenario, { slowModel = 0 } = {}) {
      test(name, async () => {
        const page = helpers(await browser.newPage({ width: 1100, height: 900 }));
        modelBytesPerSecond = slowModel ? Math.ceil(statSync(join(ROOT, MODEL)).size / slowModel) : null;
        try {
          await page.goto(`${origin}/?model=/${MODEL}&index=/e2e/catalog/index.json`);
          await page.nthEvent('indexcomplete'); // the tags and tempi, for the filters
          if (!slowModel) {
            // (After "ready": the element is defined and started by then.)
            await page.evaluate(() => {
              document.querySelector('similar-songs').prepareAnalysis();
            });
            await page.nthEvent('modelready');
          }
          // The rows come with the browse part, just after "ready".
          await page.waitFor(() => document.querySelector('similar-songs').shadowRoot.querySelectorAll('.row').length > 0, null, 'the catalog rows');
          await scenario(page);
        } finally {
          modelBytesPerSecond = null;
          await page.close();
        }
      });
    }
    const shot = (page, name) => page.screenshot(join(ARTIFACTS, `${engine}-${name}.png`));
    async function assertClean(page) {
      assert.deepEqual(await page.problems(), [], 'no uncaught errors, console errors or CSP violations');
    }

    onDemo('loads the catalog as text and the engine build this browser can run', async (page) => {
      const titles = await page.rowTitles();
      assert.equal(titles.length, 8);
      assert.ok(titles.includes('Theme <b>bold</b>'), 'markup in titles is shown as text');
      assert.equal(await page.evaluate(() => document.querySelector('similar-songs').shadowRoot.querySelectorAll('.list img, .list b, script, iframe').length), 0);
      // The worker loaded the build this engine validates (relaxed SIMD, else plain SIMD), and
      // the page says so when it is the plain one.
      const expected = await page.evaluate(async () => (await import('/www/engine-build.js')).chooseEngineBuild());
      const ready = await page.nthEvent('modelready');
      assert.equal(ready.engineBuild, expected);
      if (engine === 'chromium') assert.equal(expected, 'relaxed-simd');
      const status = await page.text('.status');
      assert.equal(/no relaxed SIMD/.test(status), expected === 'simd128', `status: ${status}`);
      console.log(`${browser.version}: engine build ${expected}`);
      await shot(page, 'catalog');
      await assertClean(page);
    });

    onDemo('"Similar" on a catalog track lists scored results', async (page) => {
      await page.click('.similar', { row: 'Menu theme' });
      const results = await page.nthEvent('results');
      assert.equal(results.reference, 'menu');
      assert.equal(results.ids.length, 7, 'every other track, the reference left out');
      assert.equal(results.ids[0], 'menu-flac', 'the same recording in FLAC comes first');
      assert.equal(await page.text('.ref-title'), 'Menu theme');
      assert.match(await page.text('.score-value'), /^\d+%$/);
      await assertClean(page);
    });

    onDemo('a chosen file is analysed with progress and searched; a dropped file replaces it', async (page) => {
      await page.setInputFile('.drop input[type=file]', join(AUDIO, 'real_music_a_44k.ogg'));
      const results = await page.nthEvent('results');
      assert.equal(results.reference, 'real_music_a_44k.ogg');
      assert.deepEqual(results.ids.slice(0, 2).sort(), ['menu', 'menu-flac'], 'the same music ranks first');
      // The MP3 and FLAC of one recording are one row, "+1 version" opening the other.
      assert.deepEqual([results.rows[0], ...results.versions[0]].sort(), ['menu', 'menu-flac']);
      assert.equal(await page.text('.versions-toggle'), '+1 version');
      await page.click('.versions-toggle');
      assert.equal(await page.evaluate(() => document.querySelector('similar-songs').shadowRoot.querySelector('.versions-toggle').getAttribute('aria-expanded')), 'true');
      const stages = new Set((await page.events('progress')).map((e) => e.stage));
      // (Decoding this short file takes less than the 50 ms between progress reports.)
      assert.ok(stages.has('analysis') && stages.has('search'), `progress stages: ${[...stages]}`);
      assert.ok(await page.evaluate(() => document.querySelector('similar-songs').shadowRoot.querySelector('canvas.mel').width > 100), 'a spectrogram was drawn');
      assert.match(await page.text('.ref-facts'), /vorbis, 44100 Hz, 2 ch/);
      // The file's tempo, as `simsong tempo` computes it natively.
      const tempo = JSON.parse(execFileSync(process.env.SIMSONG_BIN, ['tempo', '--json', join(AUDIO, 'real_music_a_44k.ogg')], { encoding: 'utf8' }));
      assert.ok(tempo.bpm > 0, JSON.stringify(tempo));
      assert.ok(Math.abs(results.tempo.bpm - tempo.bpm) < 1e-3, JSON.stringify(results));
      assert.ok(Math.abs(results.tempo.confidence - tempo.confidence) < 1e-4);
      assert.equal(await page.text('.ref-tempo'), `Tempo: ${tempo.bpm.toFixed(1)} BPM (confidence ${tempo.confidence.toFixed(2)}, predicted)`);
      await shot(page, 'file');
      // Drag and drop, with a real DataTransfer holding a File.
      await page.evaluate(async () => {
        const bytes = await (await fetch('/tests/fixtures/audio/real_music_b_16k.wav')).arrayBuffer();
        const data = new DataTransfer();
        data.items.add(new File([bytes], 'dropped.wav', { type: 'audio/wav' }));
        const host = document.querySelector('similar-songs');
        host.dispatchEvent(new DragEvent('dragover', { dataTransfer: data, bubbles: true, cancelable: true }));
        host.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
      });
      const dropped = await page.nthEvent('results', 2);
      assert.equal(dropped.reference, 'dropped.wav');
      assert.equal(dropped.ids[0], 'lugaru', 'the dropped recording finds itself in the catalog');
      await assertClean(page);
    });

    // The analyser loads only once a visitor brings a song: the catalog works without it, and a
    // song chosen on a fresh page waits for the analyser and a slow model (a real network: the
    // model arrives over 3 s), then is searched. The worker builds tract's model reader in that
    // wait (engine-worker.js, prepareLoading), the branch a localhost page never takes.
    onDemo(
      'with a slow model, the catalog works without it and a song chosen is searched once it is in',
      async (page) => {
        assert.equal(await page.text('.status'), '8 tracks. Pick “Similar” on any of them, or drop a song of your own.');
        await page.click('.similar', { row: 'Menu theme' });
        assert.equal((await page.nthEvent('results')).ids[0], 'menu-flac', 'track search without the model');
        assert.deepEqual(await page.events('modelready'), [], 'no analyser for a search by catalog track');
        await page.setInputFile('.drop input[type=file]', join(AUDIO, 'real_music_a_44k.ogg'));
        const results = await page.nthEvent('results', 2);
        assert.equal(results.reference, 'real_music_a_44k.ogg');
        assert.deepEqual(results.ids.slice(0, 2).sort(), ['menu', 'menu-flac'], 'the same music ranks first');
        const [chosen, model] = [(await page.events('analysisstart'))[0], (await page.events('modelready'))[0]];
        assert.ok(model.t - chosen.t > 1000, `the model came ${Math.round(model.t - chosen.t)} ms after the song was chosen`);
        assert.ok(model.t < results.t);
        assert.ok(
          (await page.events('progress')).some((p) => p.stage === 'model'),
          "the analyser's bytes were reported",
        );
        assert.doesNotMatch(await page.text('.warning'), /still loading/);
        await page.click('.clear');
        assert.match(await page.text('.status'), /^8 tracks\. Pick “Similar” on any of them, or drop a song of your own\.( \(This browser has no relaxed SIMD|$)/);
        await assertClean(page);
      },
      { slowModel: 3 },
    );

    onDemo('＋ and − on the rows steer the ranking as the CLI ranks the same references', async (page) => {
      await page.click('.similar', { row: 'Menu theme' });
      await page.nthEvent('results');
      await page.click('.more-like', { row: 'Sine 440' });
      await page.nthEvent('results', 2);
      await page.click('.less-like', { row: 'Noise' });
      const steered = await page.nthEvent('results', 3);
      const cli = JSON.parse(
        execFileSync(process.env.SIMSONG_BIN, ['query', join(catalogDir, 'catalog'), '--id', 'menu', '--id', 'sine', '--not-id', 'noise', '-k', '20', '--json'], { encoding: 'utf8' }),
      ).map((x) => x.hit.id);
      assert.deepEqual(steered.rows, cli);
      assert.deepEqual(await page.evaluate(() => [...document.querySelector('similar-songs').shadowRoot.querySelectorAll('.steer-chip .steer-title')].map((t) => t.textContent)), [
        'Menu theme',
        'Sine 440',
        'Noise',
      ]);
      await assertClean(page);
    });

    onDemo('a part of a dropped song, chosen by dragging across its spectrogram, ranks as the CLI ranks it', async (page) => {
      await page.setInputFile('.drop input[type=file]', medley);
      await page.nthEvent('results');
      const box = await page.evaluate(() => {
        const c = document.querySelector('similar-songs').shadowRoot.querySelector('canvas.mel');
        c.scrollIntoView({ block: 'center' });
        const r = c.getBoundingClientRect();
        return { x: r.left, y: r.top, width: r.width, height: r.height };
      });
      const y = box.y + box.height / 2;
      await page.drag({ x: box.x + box.width * 0.52, y }, { x: box.x + box.width - 2, y });
      const part = await page.nthEvent('results', 2);
      assert.ok(part.part && part.part.start >= 6 && part.part.start <= 6.5 && part.part.end >= 11.5, `the dragged part: ${JSON.stringify(part.part)}`);
      const cli = JSON.parse(
        execFileSync(
          process.env.SIMSONG_BIN,
          ['query', join(catalogDir, 'catalog'), '--file', medley, '--from', String(part.part.start), '--to', String(part.part.end), '-k', '20', '--json', '--model', join(ROOT, INDEX_MODEL)],
          { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
        ),
      ).map((x) => x.hit.id);
      assert.deepEqual(part.rows, cli);
      assert.equal(part.ids[0], 'lugaru', 'the second half of the medley');
      await assertClean(page);
    });

    onDemo('tag filters narrow the catalog and the results; "outside" inverts them', async (page) => {
      await page.click('.chip', { text: 'calm' });
      await page.waitFor(() => document.querySelector('similar-songs').shadowRoot.querySelectorAll('.row').length === 2, null, 'the calm tracks');
      assert.deepEqual((await page.rowTitles()).sort(), ['Noise', 'Theme <b>bold</b>']);
      await page.click('.outside input');
      await page.waitFor(() => document.querySelector('similar-songs').shadowRoot.querySelectorAll('.row').length === 6, null, 'the tracks outside calm');
      assert.ok(!(await page.rowTitles()).includes('Noise'));
      assert.equal(await page.evaluate(() => document.querySelector('similar-songs').getAttribute('filter')), 'mood:calm');
      await page.click('.similar', { row: 'Menu theme' });
      const results = await page.nthEvent('results');
      assert.ok(results.ids.length > 0);
      assert.ok(!results.ids.includes('noise') && !results.ids.includes('lugaru'), 'no calm track outside "calm"');
      await page.click('.outside input');
      const inside = await page.nthEvent('results', 2);
      assert.deepEqual(inside.ids.sort(), ['lugaru', 'noise']);
      await shot(page, 'filter');
      await assertClean(page);
    });

    onDemo('a tempo range narrows the catalog; "Similar tempo" ranks as the CLI ranks it', async (page) => {
      const rows = (n) => page.waitFor((count) => document.querySelector('similar-songs').shadowRoot.querySelectorAll('.row').length === count, n, `${n} rows`);
      await rows(8);
      await page.evaluate(() => {
        document.querySelector('similar-songs').bpm = '100-140';
      });
      await rows(2);
      assert.deepEqual((await page.rowTitles()).sort(), ['Menu theme', 'Menu theme (FLAC master)']);
      assert.equal(await page.text('.tag.tempo'), '120 BPM (predicted)');
      await page.evaluate(() => {
        document.querySelector('similar-songs').bpm = null;
      });
      await rows(8);
      await page.click('.similar', { row: 'Menu theme' });
      await page.nthEvent('results');
      await page.click('input.similar-tempo');
      const similar = await page.nthEvent('results', 2);
      const cli = JSON.parse(execFileSync(process.env.SIMSONG_BIN, ['query', join(catalogDir, 'catalog'), '--id', 'menu', '--similar-tempo', '-k', '20', '--json'], { encoding: 'utf8' })).map(
        (x) => x.hit.id,
      );
      assert.deepEqual(similar.rows, cli);
      assert.deepEqual(similar.ids, ['menu-flac']);
      await assertClean(page);
    });

    onDemo('keyboard: arrows move the selection and play, Enter searches similar songs', async (page) => {
      await page.evaluate(() => document.querySelector('similar-songs').shadowRoot.querySelector('.list').focus());
      const selected = () => page.text('.row[aria-selected="true"] .title');
      await page.press('ArrowDown');
      await page.press('ArrowDown');
      assert.equal(await selected(), 'Menu theme (FLAC master)');
      assert.deepEqual(
        (await page.events('trackplay')).map((p) => p.id),
        ['menu', 'menu-flac'],
      );
      assert.match(await page.evaluate(() => document.querySelector('similar-songs').shadowRoot.querySelector('audio').src), /real_music_a_44k\.flac$/);
      await page.press('ArrowUp');
      assert.equal(await selected(), 'Menu theme');
      await page.press('Enter');
      const results = await page.nthEvent('results');
      assert.equal(results.reference, 'menu');
      await page.press('ArrowDown');
      assert.equal(await selected(), (await page.rowTitles())[1]);
      assert.ok(
        await page.evaluate(() => {
          const list = document.querySelector('similar-songs').shadowRoot.querySelector('.list');
          return list.getRootNode().activeElement === list;
        }),
        'focus stays on the list',
      );
      await shot(page, 'keyboard');
      await assertClean(page);
    });

    onDemo('unreadable and silent files get clear messages; the next file works', async (page) => {
      await page.setInputFile('.drop input[type=file]', join(AUDIO, 'bad/text.mp3'));
      assert.equal((await page.nthEvent('error')).stage, 'analysis');
      assert.equal(await page.evaluate(() => document.querySelector('similar-songs').shadowRoot.querySelector('.status').dataset.kind), 'error');
      assert.match(await page.text('.status'), /“text\.mp3” is not an audio file this page can read/);
      assert.equal((await page.rowTitles()).length, 8, 'the catalog stays usable');
      await page.setInputFile('.drop input[type=file]', join(AUDIO, 'bad/silence_16k.wav'));
      await page.nthEvent('error', 2);
      assert.match(await page.text('.status'), /Cannot analyse “silence_16k\.wav”: the audio is silent/);
      await page.setInputFile('.drop input[type=file]', join(AUDIO, 'real_music_a_44k.mp3'));
      assert.equal((await page.nthEvent('results')).ids[0], 'menu');
      await shot(page, 'bad-input');
      assert.deepEqual(
        (await page.problems()).filter((p) => p.startsWith('CSP')),
        [],
        'no CSP violations',
      );
    });

    onDemo('the bad-input matrix, chosen one file after another: clear messages or results', async (page) => {
      // All of tests/bad-input/matrix.mjs but the hour-long file (robustness.test.mjs, Chromium).
      const dir = tempDir(`simsong-matrix-${engine}-`);
      const outcomes = () => page.evaluate(() => window.__events.filter((e) => e.type === 'results' || e.type === 'error'));
      const failures = [];
      for (const c of cases({ long: false })) {
        const before = (await outcomes()).length;
        const restarts = (await page.events('workerrestart')).length;
        writeFileSync(join(dir, c.name), c.bytes);
        await page.setInputFile('.drop input[type=file]', join(dir, c.name));
        await page.waitFor((n) => window.__events.filter((e) => e.type === 'results' || e.type === 'error').length > n, before, `the outcome of ${c.name}`);
        const last = (await outcomes()).at(-1);
        if (c.wasmTrap) await page.nthEvent('workerrestart', restarts + 1); // a fresh worker takes over
        const expect = c.page ?? c.expect;
        if (expect.error) {
          const detail = last.message?.replace(/^Cannot analyse “[^”]*”: /, '');
          if (!(last.type === 'error' && last.stage === 'analysis' && new RegExp(expect.error).test(detail) && last.message.includes(c.name) && codeMatches(expect.code, last.code))) {
            failures.push(`${c.name}: ${JSON.stringify(last)} instead of an error /${expect.error}/`);
          }
        } else if (last.type !== 'results' || last.reference !== c.name || last.ids.length === 0) {
          failures.push(`${c.name}: ${JSON.stringify(last)} instead of results`);
        } else if (!(last.seconds >= expect.seconds[0] && last.seconds <= expect.seconds[1])) {
          failures.push(`${c.name}: ${last.seconds} s, expected ${expect.seconds.join('..')}`);
        }
      }
      assert.deepEqual(failures, []);
      // Still responsive: the catalog is searchable after it all.
      await page.click('.clear');
      await page.click('.similar', { row: 'Sine 440' });
      await page.waitFor(() => window.__events.at(-1)?.type === 'results' && window.__events.at(-1).reference === 'sine', null, 'the search after the matrix');
      assert.deepEqual(
        (await page.problems()).filter((p) => p.startsWith('CSP')),
        [],
        'no CSP violations',
      );
    });
  });
}

// Search by a part of a dropped song, in Chromium: a medley of two catalog recordings (6 s of
// "Menu theme", then 6 s of "Theme <b>bold</b>"), a part chosen by dragging across its
// spectrogram, with the keyboard on the sliders, and from the JS API; every ranking checked
// against `simsong query --file F --from … --to …` on the same file.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ARTIFACTS, ROOT, demoUrl, newPage, setUp } from './harness.mjs';
import { INDEX_MODEL, writeMedley } from './catalog.mjs';
import { tempDir } from '../temp-dir.mjs';

const skip = !process.env.SIMSONG_BIN && 'SIMSONG_BIN (the native CLI) is needed to build the test catalog';
const el = 'similar-songs';
let env;
let medley;

before(async () => {
  if (skip) return;
  env = await setUp();
  medley = writeMedley(tempDir('simsong-part-'));
});
after(() => env?.close());

/** The CLI's ranking of the medley (or its part): [[id, score]]. */
function cli(part = []) {
  const out = execFileSync(process.env.SIMSONG_BIN, ['query', join(env.catalogDir, 'catalog'), '--file', medley, ...part, '-k', '20', '--json', '--model', join(ROOT, INDEX_MODEL)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return JSON.parse(out).map((x) => [x.hit.id, x.hit.score]);
}

const ranking = (page) => page.evaluate(() => document.querySelector('similar-songs').results.map((h) => [h.id, h.score]));

function assertSame(got, want, what) {
  assert.deepEqual(
    got.map(([id]) => id),
    want.map(([id]) => id),
    `${what}: the CLI's order`,
  );
  for (const [i, [, s]] of got.entries()) assert.ok(Math.abs(s - want[i][1]) < 1e-4, `${what}: score ${i} ${s} vs ${want[i][1]}`);
}

test('a part of a dropped song, chosen by dragging, by keyboard and by the API, ranks as the CLI ranks that part', { skip }, async () => {
  const page = await newPage(env);
  await page.goto(demoUrl(env));
  await page.prepareAnalysis();
  await page.setInputFiles(`${el} >> .drop input[type=file]`, medley);
  const whole = await page.nthEvent('results');
  assert.equal(whole.reference, 'medley.wav');
  assertSame(await ranking(page), cli(), 'the whole medley');
  assert.equal(await page.locator(`${el} >> .part-controls`).isVisible(), true);

  // Drag across the right half of the spectrogram: the second recording.
  const box = await page.locator(`${el} >> canvas.mel`).boundingBox();
  await page.mouse.move(box.x + box.width * 0.52, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.75, box.y + box.height / 2, { steps: 4 });
  await page.mouse.move(box.x + box.width - 1, box.y + box.height / 2, { steps: 4 });
  await page.mouse.up();
  const partResults = await page.nthEvent('results', 2);
  const dragged = await page.evaluate(() => {
    const host = document.querySelector('similar-songs');
    return [Number(host.shadowRoot.querySelector('.part-from').value), Number(host.shadowRoot.querySelector('.part-to').value)];
  });
  assert.deepEqual(partResults.part, { start: dragged[0], end: dragged[1] }, 'the results event names the part');
  assert.ok(dragged[0] >= 6 && dragged[0] <= 6.5 && dragged[1] >= 11.5, `dragged ${dragged}`);
  const second = await ranking(page);
  assertSame(second, cli(['--from', String(dragged[0]), '--to', String(dragged[1])]), 'the dragged part');
  assert.equal(second[0][0], 'lugaru', 'the second half is "Theme <b>bold</b>"');
  assert.equal(await page.locator(`${el} >> .part-shade`).isVisible(), true);
  assert.match(await page.locator(`${el} >> .part-text`).textContent(), /^0:06–0:1\d$/);
  await page.screenshot({ path: join(ARTIFACTS, 'song-part.png'), fullPage: true });

  // The keyboard: the "to" slider down to 0:06 and "from" to the start: the first recording.
  await page.locator(`${el} >> .part-from`).focus();
  await page.keyboard.press('Home');
  await page.locator(`${el} >> .part-to`).focus();
  const to = Number(await page.locator(`${el} >> .part-to`).inputValue());
  for (let t = to; t > 6; t -= 0.5) await page.keyboard.press('ArrowLeft');
  await page.waitForFunction(() => {
    const r = window.__events.filter((e) => e.type === 'results').at(-1);
    return r && document.querySelector('similar-songs').shadowRoot.querySelector('.part-to').value === '6' && !document.querySelector('similar-songs').hasAttribute('busy');
  });
  const first = await ranking(page);
  assertSame(first, cli(['--from', '0', '--to', '6']), 'the first 6 s, chosen with the keyboard');
  assert.ok(['menu', 'menu-flac'].includes(first[0][0]), 'the first half is "Menu theme"');

  // The API, and "Whole song".
  assertSame(
    await page.evaluate(async () => (await document.querySelector('similar-songs').searchByPart(6, 12)).map((h) => [h.id, h.score])),
    cli(['--from', '6', '--to', '12']),
    'searchByPart(6, 12)',
  );
  assert.deepEqual((await page.events('results')).at(-1).reference, 'medley.wav');
  await page.locator(`${el} >> .part-whole`).click();
  await page.waitForFunction(() => !document.querySelector('similar-songs').hasAttribute('busy') && document.querySelector('similar-songs').shadowRoot.querySelector('.part-shade').hidden);
  assertSame(await ranking(page), cli(), 'back to the whole song');
  // A part after the end is refused with the engine's words; a catalog track has no parts.
  const refused = await page.evaluate(() =>
    document
      .querySelector('similar-songs')
      .searchByPart(20, 30)
      .then(
        () => 'searched',
        (e) => e.message,
      ),
  );
  assert.match(refused, /after its end/);
  await page.locator(`${el} >> .row >> nth=0 >> .similar`).click();
  await page.waitForFunction(() => document.querySelector('similar-songs').results && !document.querySelector('similar-songs').hasAttribute('busy'));
  const noPart = await page.evaluate(() =>
    document
      .querySelector('similar-songs')
      .searchByPart(0, 3)
      .then(
        () => 'searched',
        (e) => e.message,
      ),
  );
  assert.match(noPart, /only be chosen of a song of yours/);
  assert.equal(await page.locator(`${el} >> .part-controls`).isVisible(), false);
  assert.deepEqual(
    page.problems.filter((p) => !/after its end|song of yours/.test(p)),
    [],
  );
  assert.deepEqual(await page.cspViolations(), []);
  await page.context().close();
});

test('a catalog reference shows the spectrogram of its preview: the same picture its file gives', { skip }, async () => {
  const page = await newPage(env);
  await page.goto(demoUrl(env));
  await page.prepareAnalysis();
  const pixels = () =>
    page.locator(`${el} >> canvas.mel`).evaluate((c) => {
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let sum = 0;
      for (let i = 0; i < d.length; i += 7) sum = (sum * 31 + d[i]) % 1000000007;
      return { width: c.width, height: c.height, sum };
    });
  // "Menu theme" previews tests/fixtures/audio/real_music_a_44k.mp3.
  await page.setInputFiles(`${el} >> .drop input[type=file]`, join(ROOT, 'tests/fixtures/audio/real_music_a_44k.mp3'));
  await page.nthEvent('results');
  const fromFile = await pixels();
  await page.locator(`${el} >> .row:has(.title:text-is("Menu theme")) >> .similar`).click();
  await page.nthEvent('results', 2);
  await page.waitForFunction(() => /Menu theme \(from its preview\)/.test(document.querySelector('similar-songs').shadowRoot.querySelector('canvas.mel').getAttribute('aria-label')));
  assert.equal(await page.locator(`${el} >> canvas.mel`).isVisible(), true);
  assert.deepEqual(await pixels(), fromFile, 'the preview analysed in the worker draws the same spectrogram');
  assert.equal(await page.locator(`${el} >> .part-controls`).isVisible(), false, 'parts are for songs of yours');
  await page.screenshot({ path: join(ARTIFACTS, 'track-picture.png'), fullPage: true });
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

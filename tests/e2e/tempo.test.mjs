// The tempo filter on the demo page in Chromium: a BPM range on the catalog list and on results,
// "similar tempo" from the reference's predicted tempo, the tempo chips, the JS API and the
// attributes, each checked against the native CLI on the same published index.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cliRanking, demoUrl, newPage, setUp } from './harness.mjs';

const skip = !process.env.SIMSONG_BIN && 'SIMSONG_BIN (the native CLI) is needed to build the test catalog';
const el = 'similar-songs';
let env;

before(async () => {
  if (!skip) env = await setUp();
});
after(() => env?.close());

const cli = (args) => cliRanking(env, args);

const titles = (page) => page.locator(`${el} >> .row .title`).allTextContents();
const results = (page) => page.evaluate(() => document.querySelector('similar-songs').results.map((h) => [h.id, h.score]));

function assertSame(pageHits, cliHits, what) {
  assert.deepEqual(
    pageHits.map(([id]) => id),
    cliHits.map(([id]) => id),
    `${what}: the CLI's results`,
  );
  for (const [i, [, score]] of pageHits.entries()) assert.ok(Math.abs(score - cliHits[i][1]) < 1e-4, `${what}: score ${i}`);
}

test('a tempo range and "similar tempo" narrow the list and the results as the CLI does', { skip }, async () => {
  const page = await newPage(env);
  await page.goto(demoUrl(env));
  await page.nthEvent('indexcomplete'); // the tags and tempi, for the filters
  // Two of the eight test tracks have a clear tempo (the same music, ~120 BPM); the index says so.
  const info = await page.evaluate(() => document.querySelector('similar-songs').indexInfo.tempo);
  assert.equal(info.tracks, 2, JSON.stringify(info));
  assert.equal(info.slowestBpm, 120);
  // The range an index can store, from the engine (src/tempo/code.rs): the fields' bounds.
  assert.deepEqual([info.minBpm, info.maxBpm], [30, 284]);
  assert.match(await page.locator(`${el} >> .tempo-note`).textContent(), /2 tracks with a clear tempo/);
  await page.waitForFunction(() => document.querySelector('similar-songs').shadowRoot.querySelectorAll('.row').length === 8);
  // Their rows say so; the others say nothing about tempo.
  assert.equal(await page.locator(`${el} >> .tag.tempo`).count(), 2);
  assert.equal(await page.locator(`${el} >> .row:has(.title:text-is("Menu theme")) >> .tag.tempo`).textContent(), '120 BPM (predicted)');

  // A range typed into the fields narrows the catalog list, and is reflected in the attribute.
  await page.locator(`${el} >> .bpm-from`).fill('100');
  await page.locator(`${el} >> .bpm-from`).press('Tab');
  await page.waitForFunction(() => document.querySelector('similar-songs').getAttribute('bpm') === '100-');
  await page.locator(`${el} >> .bpm-to`).fill('140');
  await page.locator(`${el} >> .bpm-to`).press('Tab');
  await page.waitForFunction(() => document.querySelector('similar-songs').getAttribute('bpm') === '100-140');
  await page.waitForFunction(() => document.querySelector('similar-songs').shadowRoot.querySelectorAll('.row').length === 2);
  assert.deepEqual((await titles(page)).sort(), ['Menu theme', 'Menu theme (FLAC master)']);
  assert.deepEqual(await page.evaluate(() => document.querySelector('similar-songs').bpm), { min: 100, max: 140 });

  // Results with the range: as `query --bpm 100-140`.
  await page.evaluate(() => document.querySelector('similar-songs').searchByTrack('noise'));
  assertSame(await results(page), cli(['--id', 'noise', '--bpm', '100-140']), 'noise, 100-140 BPM');
  // "Similar tempo" is off for a reference without a clear tempo, and says why.
  const toggle = page.locator(`${el} >> input.similar-tempo`);
  assert.equal(await toggle.isDisabled(), true);
  assert.match(await page.locator(`${el} >> .similar-tempo-label`).getAttribute('title'), /clear tempo first/);

  // Without the range, by "Menu theme" with similar tempo: as `query --id menu --similar-tempo`.
  await page.evaluate(() => {
    document.querySelector('similar-songs').bpm = null;
  });
  await page.evaluate(() => document.querySelector('similar-songs').searchByTrack('menu'));
  assert.equal(await toggle.isDisabled(), false);
  assert.match(await page.locator(`${el} >> .similar-tempo-label`).getAttribute('title'), /like 120 BPM/);
  const before = (await page.events('results')).length;
  await toggle.check();
  await page.nthEvent('results', before + 1);
  assert.equal(await page.evaluate(() => document.querySelector('similar-songs').hasAttribute('similar-tempo')), true);
  assertSame(await results(page), cli(['--id', 'menu', '--similar-tempo']), 'menu, similar tempo');
  assert.deepEqual(
    (await results(page)).map(([id]) => id),
    ['menu-flac'],
  );

  // Outside the tags, still within the tempo: `outside` inverts the tags only.
  await page.evaluate(() => {
    const e = document.querySelector('similar-songs');
    e.similarTempo = false;
    e.bpm = '100-';
    e.setAttribute('filter', 'mood:calm');
    e.setAttribute('outside', '');
  });
  await page.waitForFunction(() => document.querySelector('similar-songs').results?.length === 1);
  assertSame(await results(page), cli(['--id', 'menu', '--bpm', '100-', '--tag', 'mood:calm', '--outside']), 'outside calm, 100+ BPM');

  // A range no track has: no results, said plainly; a nonsense attribute is refused and ignored.
  await page.evaluate(() => {
    const e = document.querySelector('similar-songs');
    e.removeAttribute('filter');
    e.removeAttribute('outside');
    e.bpm = '-60';
  });
  await page.waitForFunction(() => document.querySelector('similar-songs').results?.length === 0);
  await page.evaluate(() => {
    document.querySelector('similar-songs').bpm = '140-100';
  });
  await page.waitForFunction(() => document.querySelector('similar-songs').results?.length === 7);
  assert.match(await page.locator(`${el} >> .status`).textContent(), /“140-100” is not a BPM range/);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

// "More like these, less like that" on the demo page in Chromium: ＋ / − on the rows, the
// reference panel's shortlist with its remove buttons, the ranking checked against the native
// CLI's for the same references, the search in the page's URL (shared and reloaded), and the JS
// API with a song from disk among the references.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ARTIFACTS, ROOT, cliRanking as cliRankingOf, demoUrl, newPage, setUp } from './harness.mjs';

const skip = !process.env.SIMSONG_BIN && 'SIMSONG_BIN (the native CLI) is needed to build the test catalog';
const el = 'similar-songs';
const AUDIO = join(ROOT, 'tests/fixtures/audio');
let env;

before(async () => {
  if (!skip) env = await setUp();
});
after(() => env?.close());

const cliRanking = (args) => cliRankingOf(env, args);

const pageRanking = (page) => page.evaluate(() => document.querySelector('similar-songs').results.map((h) => [h.id, h.score]));

function assertSameRanking(page, cli, what) {
  assert.deepEqual(
    page.map(([id]) => id),
    cli.map(([id]) => id),
    `${what}: the CLI's order`,
  );
  for (const [i, [, score]] of page.entries()) assert.ok(Math.abs(score - cli[i][1]) < 1e-4, `${what}: score ${i} ${score} vs ${cli[i][1]}`);
}

const rowButton = (page, title, cls) => page.locator(`${el} >> .row:has(.title:text-is("${title}")) >> .${cls}`);

test('＋ and − steer the ranking as the CLI ranks the same references; the shortlist is in the URL', { skip }, async () => {
  const page = await newPage(env);
  await page.goto(demoUrl(env));
  await page.nthEvent('indexcomplete'); // the tags and tempi, for the filters
  await rowButton(page, 'Menu theme', 'similar').click();
  assert.equal((await page.nthEvent('results')).reference, 'menu');
  assertSameRanking(await pageRanking(page), cliRanking(['--id', 'menu']), 'menu');

  // ＋ on a result: more like both.
  await rowButton(page, 'Sine 440', 'more-like').click();
  await page.nthEvent('results', 2);
  assertSameRanking(await pageRanking(page), cliRanking(['--id', 'menu', '--id', 'sine']), 'menu + sine');
  assert.equal(
    (await page.evaluate(() => document.querySelector('similar-songs').results)).some((h) => h.id === 'sine'),
    false,
    'a reference is not its own result',
  );

  // − on another: less like it.
  await rowButton(page, 'Noise', 'less-like').click();
  await page.nthEvent('results', 3);
  assertSameRanking(await pageRanking(page), cliRanking(['--id', 'menu', '--id', 'sine', '--not-id', 'noise']), 'menu + sine − noise');
  assert.deepEqual(await page.evaluate(() => document.querySelector('similar-songs').references), {
    positive: [
      { kind: 'track', id: 'menu' },
      { kind: 'track', id: 'sine' },
    ],
    negative: [{ kind: 'track', id: 'noise' }],
  });
  // The panel lists them, each with a remove button; the URL carries the search.
  assert.deepEqual(await page.locator(`${el} >> .steer-chip.positive .steer-title`).allTextContents(), ['Menu theme', 'Sine 440']);
  assert.deepEqual(await page.locator(`${el} >> .steer-chip.negative .steer-title`).allTextContents(), ['Noise']);
  const url = new URL(page.url());
  assert.equal(url.searchParams.get('like'), 'menu,sine');
  assert.equal(url.searchParams.get('unlike'), 'noise');
  const changes = await page.events('referenceschange');
  assert.deepEqual(changes.at(-1).negative, [{ kind: 'track', id: 'noise' }]);
  await page.screenshot({ path: join(ARTIFACTS, 'shortlist.png'), fullPage: true });

  // ✕ on "Sine 440": back to menu − noise.
  await page.locator(`${el} >> button[aria-label="Remove Sine 440 from more like"]`).click();
  await page.nthEvent('results', 4);
  const reduced = cliRanking(['--id', 'menu', '--not-id', 'noise']);
  assertSameRanking(await pageRanking(page), reduced, 'menu − noise');
  assert.equal(new URL(page.url()).searchParams.get('like'), 'menu');

  // The shared URL gives the same search on a fresh page.
  const shared = await newPage(env);
  await shared.goto(page.url());
  assert.equal((await shared.nthEvent('results')).reference, 'menu');
  assertSameRanking(await pageRanking(shared), reduced, 'the shared URL');
  assert.deepEqual(shared.problems, []);
  await shared.context().close();

  // − pressed again takes "Noise" off the shortlist.
  await rowButton(page, 'Menu theme (FLAC master)', 'less-like').click();
  await page.nthEvent('results', 5);
  assertSameRanking(await pageRanking(page), cliRanking(['--id', 'menu', '--not-id', 'noise', '--not-id', 'menu-flac']), 'menu − noise − menu-flac');
  await page.locator(`${el} >> .steer-chip.negative:has-text("Noise") .steer-remove`).click();
  await page.nthEvent('results', 6);
  assertSameRanking(await pageRanking(page), cliRanking(['--id', 'menu', '--not-id', 'menu-flac']), 'menu − menu-flac');

  // The keyboard: + on the selected row (the first result) adds it; − moves it to "less like".
  const first = (await pageRanking(page))[0][0];
  await page.locator(`${el} >> .list`).focus();
  await page.keyboard.press('+');
  await page.nthEvent('results', 7);
  assert.deepEqual(
    (await page.evaluate(() => document.querySelector('similar-songs').references)).positive.map((r) => r.id),
    ['menu', first],
  );
  assertSameRanking(await pageRanking(page), cliRanking(['--id', 'menu', '--id', first, '--not-id', 'menu-flac']), `menu + ${first} − menu-flac`);
  assert.deepEqual(page.problems, []);
  assert.deepEqual(await page.cspViolations(), []);
  await page.context().close();
});

test('a song from disk among the references: the panel\'s "add a song" and the JS API', { skip }, async () => {
  const page = await newPage(env);
  await page.goto(demoUrl(env));
  await page.nthEvent('indexcomplete'); // the tags and tempi, for the filters
  await page.prepareAnalysis();
  await rowButton(page, 'Theme <b>bold</b>', 'similar').click();
  await page.nthEvent('results');
  // "Add a song of yours" analyses it in the worker and ranks by both.
  await page.setInputFiles(`${el} >> .add-file input`, join(AUDIO, 'real_music_a_44k.wav'));
  await page.nthEvent('results', 2);
  assertSameRanking(await pageRanking(page), cliRanking(['--id', 'lugaru', '--file', join(AUDIO, 'real_music_a_44k.wav')]), 'lugaru + a file');
  const refs = await page.evaluate(() => document.querySelector('similar-songs').references);
  assert.deepEqual(refs.positive, [
    { kind: 'track', id: 'lugaru' },
    { kind: 'file', name: 'real_music_a_44k.wav' },
  ]);
  assert.equal(new URL(page.url()).searchParams.get('like'), 'lugaru', 'a file from disk is not put in the URL');

  // The API: a file first, a track to avoid; files are ranked by their embedding.
  const ids = await page.evaluate(async () => {
    const bytes = await (await fetch('/tests/fixtures/audio/real_music_b_16k.wav')).arrayBuffer();
    const hits = await document.querySelector('similar-songs').searchByReferences({
      positive: [new File([bytes], 'mine.wav'), 'sine'],
      negative: ['chirp'],
    });
    return hits.map((h) => h.id);
  });
  const cli = cliRanking(['--file', join(AUDIO, 'real_music_b_16k.wav'), '--id', 'sine', '--not-id', 'chirp']);
  assert.deepEqual(
    ids,
    cli.map(([id]) => id),
  );
  assert.equal(await page.locator(`${el} >> .ref-title`).textContent(), 'mine.wav');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

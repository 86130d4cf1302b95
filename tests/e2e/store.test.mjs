// The element embedded in a store-like page (demo/store-example.html) under the strict CSP:
// one script, one tag, themed with CSS custom properties, the store's own player.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ARTIFACTS, MODEL, newPage, setUp } from './harness.mjs';
import { CSP } from '../../scripts/serve.mjs';

const skip = !process.env.SIMSONG_BIN && 'SIMSONG_BIN (the native CLI) is needed to build the test catalog';
const el = 'similar-songs';
let env;

before(async () => {
  if (!skip) env = await setUp();
});
after(() => env?.close());

test('the element works on a store page under the strict CSP', { skip }, async () => {
  const page = await newPage(env);
  const response = await page.goto(`${env.origin}/demo/store-example.html?index=/e2e/catalog/&model=/${MODEL}&track=lugaru`);
  assert.equal(response.headers()['content-security-policy'], CSP);
  assert.match(CSP, /script-src 'self' 'wasm-unsafe-eval'/);
  assert.doesNotMatch(CSP, /'unsafe-inline'|'unsafe-eval'/);

  // The store shows the track from its URL and the element lists five similar ones.
  const results = await page.nthEvent('results');
  assert.equal(results.reference, 'lugaru');
  assert.equal(results.rows.length, 5, 'k="5"');
  assert.equal(await page.locator('#product-title').textContent(), 'Theme <b>bold</b>');
  assert.equal(await page.locator(`${el} >> .row`).count(), 5);
  assert.equal(await page.locator(`${el} >> .player`).isVisible(), false, 'player="none" hides the built-in player');

  // Themed through custom properties.
  const accent = await page
    .locator(`${el} >> .similar`)
    .first()
    .evaluate((b) => getComputedStyle(b).borderTopColor);
  assert.equal(accent, 'rgb(194, 65, 12)');

  // The element asks to play; the store's own player does it.
  await page.locator(`${el} >> .row >> nth=1 >> .play`).click();
  const play = await page.nthEvent('trackplay');
  await page.waitForFunction(
    () => {
      const a = document.getElementById('store-player');
      return !a.paused && a.currentTime > 0.2;
    },
    null,
    { timeout: 15000 },
  );
  assert.equal(await page.locator(`${el} >> audio`).evaluate((a) => a.paused && !a.src), true, 'the element did not play');
  assert.match(await page.locator('#store-status').textContent(), /Previewing/);

  // Choosing a related track makes it the product on display.
  await page.locator(`${el} >> .row >> nth=1 >> .title`).click();
  const chosen = await page.nthEvent('trackchoose');
  assert.equal(chosen.id, play.id);
  assert.notEqual(await page.locator('#product-title').textContent(), 'Theme <b>bold</b>');

  // The JS API: search by PCM (a store that decodes audio itself).
  const pcm = await page.evaluate(async () => {
    const host = document.querySelector('similar-songs');
    const rate = 22050;
    const samples = new Float32Array(rate * 4);
    for (let i = 0; i < samples.length; i++) samples[i] = 0.4 * Math.sin((2 * Math.PI * 440 * i) / rate);
    const hits = await host.searchByPcm(samples, rate, 1, 'tone');
    return hits.map((h) => h.id);
  });
  assert.equal(pcm.length, 5);

  await page.screenshot({ path: join(ARTIFACTS, 'store-example.png'), fullPage: true });
  assert.deepEqual(await page.cspViolations(), [], 'no CSP violations');
  assert.deepEqual(page.problems, [], 'no console errors, page errors or requests elsewhere');
  await page.context().close();
});

test('the element reports a missing index clearly', { skip }, async () => {
  const page = await newPage(env);
  await page.goto(`${env.origin}/demo/store-example.html?index=/e2e/missing/index.json&model=/${MODEL}`);
  const error = await page.nthEvent('error');
  assert.equal(error.stage, 'index');
  assert.match(await page.locator(`${el} >> .status`).textContent(), /The catalog could not be loaded: cannot load the catalog manifest from .*missing\/index\.json \(HTTP 404\)/);
  await page.context().close();
});

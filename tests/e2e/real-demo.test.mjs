// The demo page as `npm start` serves it: the real demo catalog at the page's default URLs.
// Skipped where the demo catalog has not been built (fresh clones, CI).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ARTIFACTS, ROOT, newPage, setUp } from './harness.mjs';

const skip = !existsSync(join(ROOT, 'demo-data/catalog/index.json')) && 'no demo catalog (demo-data/catalog/; `npm start` builds it)';
const el = 'similar-songs';
let env;

before(async () => {
  if (!skip) env = await setUp({ catalog: false });
});
after(() => env?.close());

test('the real demo: browse, similar, filters, a dropped file, under the CSP', { skip }, async (t) => {
  const page = await newPage(env, { width: 1200, height: 1000 });
  await page.goto(`${env.origin}/`);
  const ready = await page.nthEvent('ready', 1, 60000);
  assert.ok(ready.tracks > 50, `${ready.tracks} tracks`);
  // The catalog is listed a page at a time; "Show more" fetches the next page.
  const rows = () => page.locator(`${el} >> .row`).count();
  await page.waitForFunction((n) => document.querySelector('similar-songs').shadowRoot.querySelectorAll('.row').length === n, Math.min(100, ready.tracks));
  while ((await rows()) < ready.tracks) {
    const before = await rows();
    await page.locator(`${el} >> .more`).click();
    await page.waitForFunction((n) => document.querySelector('similar-songs').shadowRoot.querySelectorAll('.row').length > n, before);
  }
  assert.equal(await rows(), ready.tracks, 'the whole catalog can be listed');
  assert.ok(await page.locator(`${el} >> .more`).isHidden());
  await page.screenshot({ path: join(ARTIFACTS, 'real-demo-catalog.png') });

  await page.locator(`${el} >> .row >> nth=0 >> .similar`).click();
  const results = await page.nthEvent('results');
  assert.equal(results.ids.length, 20);
  await page.screenshot({ path: join(ARTIFACTS, 'real-demo-similar.png') });

  // A tag from the catalog's "format" category, then "outside".
  await page.locator(`${el} >> .filter-group:has-text("format") .chip >> nth=0`).click();
  await page.nthEvent('results', 2);
  await page.locator(`${el} >> .outside input`).check();
  await page.nthEvent('results', 3);

  // Dropping a file needs a model that matches the catalog (the page falls back to the test
  // model when the catalog was indexed with it).
  await page.waitForFunction(() => document.querySelector('similar-songs').modelInfo, null, { timeout: 60000 }).catch(() => {});
  const warning = await page.locator(`${el} >> .warning`).textContent();
  if (/Dropping a song will not work/.test(warning)) {
    t.diagnostic(`file drop not tested: ${warning}`);
  } else {
    await page.setInputFiles(`${el} >> .drop input[type=file]`, join(ROOT, 'tests/fixtures/audio/real_music_a_44k.mp3'));
    const file = await page.nthEvent('results', 4, 60000);
    assert.equal(file.reference, 'real_music_a_44k.mp3');
    assert.ok(file.ids.length > 0);
    await page.screenshot({ path: join(ARTIFACTS, 'real-demo-file.png') });
  }
  assert.deepEqual(await page.cspViolations(), []);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

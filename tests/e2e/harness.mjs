// Shared set-up for the browser tests and the browser benchmark: the static server (with the
// strict CSP) plus a test catalog, Debian's Chromium through playwright-core, and a page that
// records console errors, page errors and CSP violations.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startServer } from '../../scripts/serve.mjs';
import { buildCatalog, INDEX_MODEL, MODEL, ROOT } from './catalog.mjs';
import { tempDir } from '../temp-dir.mjs';

export { MODEL, ROOT };
export const ARTIFACTS = join(ROOT, 'test-artifacts');
const PROBE = join(ROOT, 'tests/e2e/engines/page-probe.js');

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  // Tests start playback from scripts too; a person's click is not needed for that.
  '--autoplay-policy=no-user-gesture-required',
  '--mute-audio',
];

/**
 * Server + browser; `catalog: true` also builds the fixture catalog (served under e2e/);
 * `mounts` publishes more folders, `faults` injects faults and `requests` records the answers
 * (see scripts/serve.mjs).
 */
export async function setUp({ catalog = true, mounts: extra = {}, faults = undefined, requests = null } = {}) {
  const mounts = { ...extra };
  let catalogDir = null;
  if (catalog) {
    catalogDir = tempDir('simsong-e2e-');
    buildCatalog(catalogDir);
    mounts['e2e/'] = catalogDir;
  }
  const server = await startServer(0, '127.0.0.1', { mounts, faults: (...a) => env.faults?.(...a) ?? faults?.(...a), requests });
  const origin = `http://127.0.0.1:${server.address().port}`;
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: CHROMIUM_ARGS });
  mkdirSync(ARTIFACTS, { recursive: true });
  const env = {
    origin,
    browser,
    faults: null, // tests may set this to a fault function for the requests that follow
    catalogDir, // served as /e2e/ (catalog.idx, catalog/index.json): tests may add files next to it
    async close() {
      await browser.close();
      await new Promise((ok) => server.close(ok));
    },
  };
  return env;
}

/**
 * A fresh page that records problems: `page.problems` lists console errors, uncaught errors,
 * CSP violations (in the page) and requests to any other origin.
 */
export async function newPage(env, viewport = { width: 1100, height: 900 }) {
  const context = await env.browser.newContext({ viewport });
  const page = await context.newPage();
  page.problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error') page.problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => page.problems.push(`page error: ${e.message}`));
  page.on('request', (r) => {
    if (!r.url().startsWith(env.origin) && !r.url().startsWith('blob:') && !r.url().startsWith('data:')) {
      page.problems.push(`request outside the origin: ${r.url()}`);
    }
  });
  // The page probe records CSP violations and the element's events as plain data (the same
  // script the Firefox and WebKit runs get from the server). Init scripts run through the
  // DevTools protocol, so the page's CSP does not block it.
  await page.addInitScript({ path: PROBE });
  page.cspViolations = () => page.evaluate(() => window.__csp);
  page.events = (type) => page.evaluate((t) => window.__events.filter((e) => !t || e.type === t), type);
  // Resolves with the n-th event of `type` (1-based), waiting for it.
  page.nthEvent = async (type, n = 1, timeout = 30000) => {
    await page.waitForFunction(([t, k]) => window.__events.filter((e) => e.type === t).length >= k, [type, n], { timeout });
    return (await page.events(type))[n - 1];
  };
  // What a visitor does by starting to bring a song (dragging a file over the element, opening
  // its file chooser): the analyser and the model load. Resolves with the `modelready` event.
  page.prepareAnalysis = async (selector = 'similar-songs') => {
    await page.evaluate(async (s) => {
      await customElements.whenDefined('similar-songs');
      document.querySelector(s).prepareAnalysis();
    }, selector);
    return page.nthEvent('modelready');
  };
  return page;
}

/** The demo page over the fixture catalog. */
/**
 * What the native CLI answers for `simsong query <the test catalog> ARGS -k 20`: [[id, score]],
 * best first: the ranking a page must show for the same references and filters.
 */
export function cliRanking(env, args) {
  const out = execFileSync(process.env.SIMSONG_BIN, ['query', join(env.catalogDir, 'catalog'), ...args, '-k', '20', '--json', '--model', join(ROOT, INDEX_MODEL)], { encoding: 'utf8' });
  return JSON.parse(out).map((x) => [x.hit.id, x.hit.score]);
}

export function demoUrl(env, extra = '') {
  return `${env.origin}/?model=/${MODEL}&index=/e2e/catalog/index.json${extra}`;
}

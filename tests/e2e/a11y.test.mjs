// Accessibility and small screens, on the demo page in Chromium: the accessibility tree (roles
// and names a screen reader gets), WCAG AA contrast of every text the default theme draws,
// keyboard focus that is visible, and the layout at 360 px (a phone) and at desktop width, with
// screenshots of both in test-artifacts/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ARTIFACTS, ROOT, demoUrl, newPage, setUp } from './harness.mjs';

const skip = !process.env.SIMSONG_BIN && 'SIMSONG_BIN (the native CLI) is needed to build the test catalog';
const el = 'similar-songs';
let env;

before(async () => {
  if (!skip) env = await setUp();
});
after(() => env?.close());

async function openWithResults(viewport) {
  const page = await newPage(env, viewport);
  await page.goto(demoUrl(env));
  await page.prepareAnalysis();
  await page.setInputFiles(`${el} >> .drop input[type=file]`, join(ROOT, 'tests/fixtures/audio/real_music_a_44k.wav'));
  await page.nthEvent('results');
  await page.locator(`${el} >> .row >> nth=1 >> .more-like`).click();
  await page.nthEvent('results', 2);
  await page.nthEvent('indexcomplete'); // the filters, with the tags the filters parts bring
  return page;
}

// Contrast ratio (WCAG 2.x) of every visible text element's colour against the first opaque
// background behind it, in the element's shadow root.
function contrasts() {
  const parse = (c) => {
    const m = c.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const [r, g, b, a = 1] = m[1]
      .split(/[ ,/]+/)
      .filter(Boolean)
      .map(Number);
    return { r, g, b, a };
  };
  const lum = ({ r, g, b }) => {
    const f = (v) => {
      const s = v / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (node) => {
    for (let n = node; n; n = n.parentElement || n.getRootNode().host) {
      const c = parse(getComputedStyle(n).backgroundColor);
      if (c && c.a > 0.9) return c;
    }
    return { r: 255, g: 255, b: 255, a: 1 };
  };
  const root = document.querySelector('similar-songs').shadowRoot;
  const out = [];
  for (const node of root.querySelectorAll('*')) {
    const own = [...node.childNodes].some((t) => t.nodeType === 3 && t.textContent.trim());
    if (!own || !node.checkVisibility?.() || node.closest('canvas, audio')) continue;
    const fg = parse(getComputedStyle(node).color);
    const bg = background(node);
    const [hi, lo] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(getComputedStyle(node).fontSize);
    const bold = Number(getComputedStyle(node).fontWeight) >= 700;
    const large = size >= 24 || (bold && size >= 18.66);
    out.push({ what: `${node.localName}.${[...node.classList].join('.')} “${node.textContent.trim().slice(0, 30)}”`, ratio: Math.round(ratio * 100) / 100, need: large ? 3 : 4.5 });
  }
  return out;
}

test('the accessibility tree names every control; the default theme meets WCAG AA contrast', { skip }, async () => {
  const page = await openWithResults({ width: 1100, height: 900 });
  const tree = await page.locator(el).ariaSnapshot();
  for (const expected of [
    /- button "Choose a song to compare"/,
    /- group "Filter by tags"/,
    /- checkbox "Outside these tags"|- checkbox/,
    /- status:/,
    /- listbox "Tracks"/,
    /option "[^"]+, Amoebax · 0:06, \d+% match"/,
    /button "format: recording, 3 tracks"/, // (quoted in the snapshot's YAML: it holds a colon)
    /- button "Find songs similar to Menu theme \(FLAC master\)"/,
    /- button "More like Menu theme \(FLAC master\)"/,
    /- button "Less like Menu theme \(FLAC master\)"/,
    /- group "Your references"/,
    /- button "Remove .* from more like"/,
    /- group "Search by a part of your song"/,
    /- slider "Start of the part to search by, in seconds"/,
    /- slider "End of the part to search by, in seconds"/,
    /- img "Mel spectrogram of your file"/,
  ])
    assert.match(tree, expected, `the tree has ${expected}:\n${tree}`);
  // Result updates are announced: the status line is a polite live region.
  assert.equal(await page.locator(`${el} >> .status`).getAttribute('aria-live'), 'polite');

  const failing = (await page.evaluate(contrasts)).filter((c) => c.ratio < c.need);
  assert.deepEqual(failing, [], 'every text meets WCAG AA (4.5:1, large text 3:1)');
  await page.context().close();
});

test('keyboard: Tab reaches the controls in order and focus is always visible', { skip }, async () => {
  const page = await openWithResults({ width: 1100, height: 900 });
  await page.locator('h1').click(); // start from the page, as a keyboard user would
  const seen = [];
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press('Tab');
    const focus = await page.evaluate(() => {
      let a = document.activeElement;
      while (a?.shadowRoot?.activeElement) a = a.shadowRoot.activeElement;
      if (!a?.closest || !document.querySelector('similar-songs').shadowRoot.contains(a)) return null;
      const s = getComputedStyle(a);
      const visible = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none';
      return { name: a.getAttribute('aria-label') || a.textContent.trim().slice(0, 30) || a.className || a.localName, visible };
    });
    if (focus) seen.push(focus);
  }
  const names = seen.map((f) => f.name);
  for (const n of ['Choose a song to compare', 'Tracks', 'Start of the part to search by, in seconds', 'Whole song']) {
    assert.ok(names.includes(n), `Tab reaches “${n}”: ${names.join(' | ')}`);
  }
  assert.ok(
    names.some((n) => /^Remove .* from more like$/.test(n)),
    'Tab reaches the shortlist',
  );
  assert.deepEqual(
    seen.filter((f) => !f.visible).map((f) => f.name),
    [],
    'focus is visible on every control',
  );
  await page.context().close();
});

test('the layout works at 360 px (a phone) and at desktop width: no sideways scrolling', { skip }, async () => {
  for (const [name, viewport] of [
    ['phone-360', { width: 360, height: 740 }],
    ['desktop-1280', { width: 1280, height: 900 }],
  ]) {
    const page = await openWithResults(viewport);
    const overflow = await page.evaluate(() => {
      const host = document.querySelector('similar-songs');
      const wide = [...host.shadowRoot.querySelectorAll('*')]
        .filter((n) => n.checkVisibility?.() && n.getBoundingClientRect().right > innerWidth + 1)
        .map((n) => `${n.localName}.${[...n.classList].join('.')}`);
      return { page: document.documentElement.scrollWidth, viewport: innerWidth, wide: wide.slice(0, 5) };
    });
    assert.ok(overflow.page <= overflow.viewport, `${name}: the page is ${overflow.page} px wide in ${overflow.viewport}`);
    assert.deepEqual(overflow.wide, [], `${name}: nothing sticks out`);
    // The row's controls stay usable: ＋, − and Similar are at least 24 px (WCAG 2.2 target size).
    const sizes = await page.locator(`${el} >> .row >> nth=0 >> button`).evaluateAll((bs) => bs.map((b) => Math.min(b.offsetWidth, b.offsetHeight)));
    assert.ok(
      sizes.every((s) => s >= 24),
      `${name}: button sizes ${sizes}`,
    );
    await page.screenshot({ path: join(ARTIFACTS, `layout-${name}.png`), fullPage: true });
    assert.deepEqual(page.problems, []);
    await page.context().close();
  }
});

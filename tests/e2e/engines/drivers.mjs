// One small page interface over the three browser engines the cross-engine suite runs in, each
// driven by its own well-kept client:
//   chromium  Debian's Chromium through playwright-core (DevTools protocol)
//   firefox   Debian's Firefox ESR through puppeteer-core over WebDriver BiDi (no geckodriver)
//   webkit    Debian's WebKitGTK MiniBrowser through its WebKitWebDriver (WebDriver classic, the
//             `webdriver` client of WebdriverIO), on an Xvfb display this module starts
// Everything a scenario asserts on is read from the page (tests/e2e/engines/page-probe.js), so
// the three behave the same; only input (real pointer, keys, file chooser) goes through drivers.
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';

export const ENGINES = ['chromium', 'firefox', 'webkit'];

const BINARIES = {
  chromium: process.env.CHROMIUM || '/usr/bin/chromium',
  firefox: process.env.FIREFOX || '/usr/bin/firefox-esr',
  webkit: process.env.WEBKIT_WEBDRIVER || '/usr/bin/WebKitWebDriver',
};
const MINIBROWSER = process.env.WEBKIT_MINIBROWSER || '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';

/** Why `engine` cannot run here (a missing binary), or null. */
export function missing(engine) {
  const needed = engine === 'webkit' ? [BINARIES.webkit, MINIBROWSER, '/usr/bin/Xvfb'] : [BINARIES[engine]];
  const absent = needed.filter((p) => !existsSync(p));
  return absent.length ? `${absent.join(', ')} not installed (scripts/setup.sh --browser installs it)` : null;
}

/** Starts `engine`; resolves with `{ engine, version, newPage(viewport), close() }`. */
export async function launch(engine) {
  if (engine === 'chromium') return launchChromium();
  if (engine === 'firefox') return launchFirefox();
  if (engine === 'webkit') return launchWebKit();
  throw new Error(`unknown browser engine ${engine}`);
}

// Keys by their DOM `key` names; WebDriver classic sends them as these code points.
const WEBDRIVER_KEYS = { ArrowDown: '\uE015', ArrowUp: '\uE013', ArrowLeft: '\uE012', ArrowRight: '\uE014', Home: '\uE011', End: '\uE010', Enter: '\uE007', Escape: '\uE00C', Tab: '\uE004', ' ': ' ' };

async function launchChromium() {
  const { chromium } = await import('playwright-core');
  const { CHROMIUM_ARGS } = await import('../harness.mjs');
  const browser = await chromium.launch({ executablePath: BINARIES.chromium, args: CHROMIUM_ARGS });
  const probe = new URL('./page-probe.js', import.meta.url).pathname;
  return {
    engine: 'chromium',
    version: browser.version(),
    async newPage(viewport) {
      const context = await browser.newContext({ viewport });
      const page = await context.newPage();
      await page.addInitScript({ path: probe });
      return {
        goto: (url) => page.goto(url),
        evaluate: (fn, arg) => page.evaluate(fn, arg),
        click: (x, y) => page.mouse.click(x, y),
        drag: (from, to) => mouseDrag(page.mouse, from, to),
        press: (key) => page.keyboard.press(key),
        setInputFile: (inner, path) => page.locator(`similar-songs >> ${inner}`).setInputFiles(path),
        screenshot: (path) => page.screenshot({ path, fullPage: true }),
        close: () => context.close(),
      };
    },
    close: () => browser.close(),
  };
}

async function launchFirefox() {
  const { default: puppeteer } = await import('puppeteer-core');
  const browser = await puppeteer.launch({
    browser: 'firefox',
    protocol: 'webDriverBiDi',
    executablePath: BINARIES.firefox,
    headless: true,
    extraPrefsFirefox: {
      // Tests start previews from scripts, and nothing should be heard.
      'media.autoplay.default': 0,
      'media.volume_scale': '0.0',
      // No update checks, telemetry or other requests to the closed network.
      'app.update.enabled': false,
      'network.captive-portal-service.enabled': false,
      'browser.safebrowsing.update.enabled': false,
    },
  });
  return {
    engine: 'firefox',
    version: await browser.version(),
    async newPage(viewport) {
      const context = await browser.createBrowserContext();
      const page = await context.newPage();
      await page.setViewport(viewport);
      return {
        goto: (url) => page.goto(url),
        evaluate: (fn, arg) => page.evaluate(fn, arg),
        click: (x, y) => page.mouse.click(x, y),
        drag: (from, to) => mouseDrag(page.mouse, from, to),
        press: (key) => page.keyboard.press(key),
        async setInputFile(inner, path) {
          const input = await page.evaluateHandle((s) => document.querySelector('similar-songs').shadowRoot.querySelector(s), inner);
          await input.uploadFile(path);
        },
        screenshot: (path) => page.screenshot({ path, fullPage: true }),
        close: () => context.close(),
      };
    },
    close: () => browser.close(),
  };
}

async function launchWebKit() {
  // The client logs every command at "info"; warnings and errors are enough here.
  process.env.WDIO_LOG_LEVEL ??= 'warn';
  const { default: WebDriver } = await import('webdriver');
  const display = await startXvfb();
  const env = { ...process.env, DISPLAY: `:${display.number}` };
  let port;
  let driver;
  const startDriver = async () => {
    port = await freePort();
    // Its own process group: killing it takes its MiniBrowsers along (a hung one left behind
    // would slow every later page).
    driver = spawn(BINARIES.webkit, [`--port=${port}`, '--host=127.0.0.1'], { env, stdio: 'ignore', detached: true });
    await waitForPort(port);
  };
  const killDriver = () => {
    try {
      process.kill(-driver.pid, 'SIGKILL');
    } catch {
      driver.kill('SIGKILL');
    }
  };
  await startDriver();
  const sessions = new Set();
  let version = null;
  const stop = async () => {
    for (const s of sessions) await s.deleteSession().catch(() => {});
    killDriver();
    display.process.kill();
  };
  // One MiniBrowser per page, so pages share nothing (as a new browser context does).
  const newSession = () =>
    WebDriver.newSession({
      hostname: '127.0.0.1',
      port,
      logLevel: 'warn',
      connectionRetryCount: 0,
      connectionRetryTimeout: 45000,
      capabilities: {
        // WebKitWebDriver speaks WebDriver classic; the client would otherwise ask for BiDi.
        'wdio:enforceWebDriverClassic': true,
        'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation'] },
      },
    });
  try {
    const probe = await newSession();
    version = probe.capabilities.browserVersion;
    await probe.deleteSession();
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    engine: 'webkit',
    version: `WebKitGTK ${version}`,
    async newPage(viewport) {
      let s;
      try {
        s = await newSession();
      } catch (e) {
        // Now and then on a loaded machine WebKitWebDriver never answers a new session (the
        // MiniBrowser it starts hangs); with one session at a time it then answers nothing.
        // A fresh driver gets one more try; a second failure fails the test.
        console.log(`# webkit: no session (${e.message}); starting WebKitWebDriver again`);
        killDriver();
        sessions.clear();
        await startDriver();
        s = await newSession();
      }
      sessions.add(s);
      await s.setWindowRect(0, 0, viewport.width, viewport.height);
      const evaluate = async (fn, arg) => {
        // Async script: the function may return a promise; errors come back as errors.
        const script = `const done = arguments[arguments.length - 1];
          Promise.resolve().then(() => (${fn})(arguments[0]))
            .then((value) => done({ value: value === undefined ? null : value }), (e) => done({ error: String(e && e.stack || e) }));`;
        const out = await s.executeAsyncScript(script, [arg === undefined ? null : arg]);
        if (out.error) throw new Error(`in the page: ${out.error}`);
        return out.value;
      };
      const perform = async (actions) => {
        await s.performActions(actions);
        await s.releaseActions();
      };
      return {
        goto: (url) => s.navigateTo(url),
        evaluate,
        click: (x, y) =>
          perform([
            {
              type: 'pointer',
              id: 'mouse',
              parameters: { pointerType: 'mouse' },
              actions: [
                { type: 'pointerMove', duration: 0, origin: 'viewport', x: Math.round(x), y: Math.round(y) },
                { type: 'pointerDown', button: 0 },
                { type: 'pointerUp', button: 0 },
              ],
            },
          ]),
        drag: (from, to) =>
          perform([
            {
              type: 'pointer',
              id: 'mouse',
              parameters: { pointerType: 'mouse' },
              actions: [
                { type: 'pointerMove', duration: 0, origin: 'viewport', x: Math.round(from.x), y: Math.round(from.y) },
                { type: 'pointerDown', button: 0 },
                { type: 'pointerMove', duration: 150, origin: 'viewport', x: Math.round(to.x), y: Math.round(to.y) },
                { type: 'pointerUp', button: 0 },
              ],
            },
          ]),
        press: (key) =>
          perform([
            {
              type: 'key',
              id: 'keyboard',
              actions: [
                { type: 'keyDown', value: WEBDRIVER_KEYS[key] ?? key },
                { type: 'keyUp', value: WEBDRIVER_KEYS[key] ?? key },
              ],
            },
          ]),
        async setInputFile(inner, path) {
          const input = await s.executeScript('return document.querySelector("similar-songs").shadowRoot.querySelector(arguments[0])', [inner]);
          await s.elementSendKeys(Object.values(input)[0], path);
        },
        screenshot: async (path) => writeFileSync(path, Buffer.from(await s.takeScreenshot(), 'base64')),
        async close() {
          sessions.delete(s);
          await s.deleteSession();
        },
      };
    },
    close: stop,
  };
}

/** A press at `from`, a move in 5 steps and a release at `to` (viewport px), with a Playwright or
 * puppeteer mouse (the two have the same methods). */
async function mouseDrag(mouse, from, to) {
  await mouse.move(from.x, from.y);
  await mouse.down();
  await mouse.move(to.x, to.y, { steps: 5 });
  await mouse.up();
}

/** Starts Xvfb on the first free display; resolves with `{ number, process }`. */
function startXvfb() {
  return new Promise((resolve, reject) => {
    const x = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', '1280x1024x24', '-nolisten', 'tcp'], { stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
    let text = '';
    x.stdio[3].on('data', (d) => {
      text += d;
      if (text.includes('\n')) resolve({ number: Number(text.trim()), process: x });
    });
    x.on('error', reject);
    x.on('exit', (code) => reject(new Error(`Xvfb exited (${code}) before it was ready`)));
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function waitForPort(port, timeoutMs = 10000) {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/status`);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`WebKitWebDriver did not listen on port ${port} within ${timeoutMs} ms`);
}

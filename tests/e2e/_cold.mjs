import { newPage, setUp } from './harness.mjs';
const env = await setUp();
for (let i = 0; i < 4; i++) {
  const page = await newPage(env);
  await page.goto(`${env.origin}/?model=/models/simsong.nnef.tar&index=/e2e/catalog/index.json`);
  const r = await page.nthEvent('ready'); const m = await page.nthEvent('modelready');
  const e = await page.evaluate(() => performance.getEntriesByType('resource').filter((r) => /wasm|worker/.test(r.name)).map((r) => [r.name.replace(location.origin, ''), Math.round(r.startTime), Math.round(r.responseEnd)]));
  console.log('ready', r.t.toFixed(0), 'model', m.t.toFixed(0), m.engineBuild, JSON.stringify(e), page.problems);
  await page.context().close();
}
await env.close();

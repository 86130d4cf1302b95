// The worker's choice between the two engine builds, with this Node's real WebAssembly.validate
// (Node 20 has wasm SIMD but not relaxed SIMD) and with engines that have more or less.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chooseEngineBuild, ENGINE_FILES } from '../../www/engine-build.js';

const ROOT = new URL('../..', import.meta.url).pathname;

test('the probes tell the builds apart, and the chosen file compiles here', async () => {
  const here = chooseEngineBuild();
  const relaxedHere = process.execArgv.includes('--experimental-wasm-relaxed-simd');
  assert.equal(here, relaxedHere ? 'relaxed-simd' : 'simd128');
  // What this engine chose must compile in it; the other build must not unless it can.
  const chosen = readFileSync(join(ROOT, 'pkg', ENGINE_FILES[here]));
  assert.ok(WebAssembly.validate(chosen), `${ENGINE_FILES[here]} compiles in this engine`);
  const relaxed = readFileSync(join(ROOT, 'pkg', ENGINE_FILES['relaxed-simd']));
  assert.equal(WebAssembly.validate(relaxed), relaxedHere, 'the relaxed build needs relaxed SIMD');
  // Engines with everything, with plain SIMD only, with no SIMD.
  assert.equal(
    chooseEngineBuild(() => true),
    'relaxed-simd',
  );
  let calls = 0;
  assert.equal(
    chooseEngineBuild(() => calls++ > 0),
    'simd128',
  );
  assert.equal(
    chooseEngineBuild(() => false),
    null,
  );
});

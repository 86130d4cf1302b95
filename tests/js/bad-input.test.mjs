// The bad-input matrix (tests/bad-input/matrix.mjs) through the wasm build in Node, with the
// shipped model: the same errors as natively, sensible analyses otherwise, and the hour-long
// file within a stated memory cap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initSync, SimilarityEngine } from '../../pkg/simsong.js';
import { cases, codeMatches } from '../bad-input/matrix.mjs';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
const wasm = initSync({ module: readFileSync(join(ROOT, 'pkg/simsong_bg.wasm')) });
const engine = new SimilarityEngine(readFileSync(join(ROOT, 'models/simsong.nnef.tar')));
const cosine = (a, b) => a.reduce((s, v, i) => s + v * b[i], 0);

// wasm memory only grows, so its size after the matrix is the peak of everything before.
const MEMORY_CAP_BYTES = 64 * 2 ** 20;

test('bad-input matrix in wasm: clear errors or sensible analyses, bounded memory', () => {
  const embeddings = new Map();
  const failures = [];
  const list = cases().filter((c) => !c.wasmTrap);
  for (const c of list) {
    let a;
    try {
      a = engine.analyzeFile(c.bytes, c.name);
    } catch (e) {
      const message = String(e.message ?? e);
      if (!c.expect.error) failures.push(`${c.name}: unexpected error “${message}”`);
      else if (!new RegExp(c.expect.error).test(message)) failures.push(`${c.name}: “${message}” does not match /${c.expect.error}/`);
      else if (!codeMatches(c.expect.code, e.code)) failures.push(`${c.name}: code ${e.code}, expected ${c.expect.code}`);
      continue;
    }
    try {
      if (c.expect.error) {
        failures.push(`${c.name}: expected /${c.expect.error}/, got ${a.durationSeconds} s analysed`);
        continue;
      }
      const [lo, hi] = c.expect.seconds;
      if (!(a.durationSeconds >= lo && a.durationSeconds <= hi)) failures.push(`${c.name}: ${a.durationSeconds} s, expected ${lo}..${hi}`);
      const e = a.embedding;
      const norm = Math.sqrt(cosine(e, e));
      if (!e.every(Number.isFinite) || Math.abs(norm - 1) > 1e-4) failures.push(`${c.name}: embedding not finite and unit`);
      if (c.expect.like) {
        const [other, least] = c.expect.like;
        const cos = cosine(e, embeddings.get(other));
        if (cos < least) failures.push(`${c.name}: cosine ${cos.toFixed(3)} to ${other}, expected ≥ ${least}`);
      }
      embeddings.set(c.name, e);
    } finally {
      a.free();
    }
  }
  assert.deepEqual(failures, [], `${failures.length} of ${list.length} cases failed`);
  const memory = wasm.memory.buffer.byteLength;
  console.log(`wasm memory after the matrix (an hour of audio included): ${(memory / 2 ** 20).toFixed(0)} MiB`);
  assert.ok(memory <= MEMORY_CAP_BYTES, `wasm memory grew to ${memory} bytes`);
});

test('a decoder panic traps the wasm instance: a clean error, not a hang (the page restarts its worker)', () => {
  // In a child process: after a trap the instance cannot be used again.
  for (const c of cases({ long: false }).filter((k) => k.wasmTrap)) {
    const script = `
      import { readFileSync } from 'node:fs';
      import { initSync, SimilarityEngine } from '${new URL('../../pkg/simsong.js', import.meta.url)}';
      initSync({ module: readFileSync('${join(ROOT, 'pkg/simsong_bg.wasm')}') });
      const engine = new SimilarityEngine(readFileSync('${join(ROOT, 'models/simsong.nnef.tar')}'));
      try { engine.analyzeFile(new Uint8Array(readFileSync(0)), '${c.name}'); console.log('no error'); }
      catch (e) { console.log(e.constructor.name + ': ' + e.message); }`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { input: Buffer.from(c.bytes), timeout: 60000, stdio: ['pipe', 'pipe', 'ignore'] })
      .toString()
      .trim();
    assert.match(out, /^RuntimeError: unreachable/, c.name);
  }
});

// An index built by the native CLI is loaded and searched by the wasm build: same hits, same
// scores; damaged indexes and a foreign model are refused with readable errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initSync, SimilarityEngine, SimilarityIndex } from '../../pkg/simsong.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
const BIN = process.env.SIMSONG_BIN;
const MODEL = join(ROOT, 'tests/fixtures/models/test-untrained.onnx');
const skip = !BIN && 'SIMSONG_BIN not set';

initSync({ module: readFileSync(join(ROOT, 'pkg/simsong_bg.wasm')) });

function buildIndex() {
  const dir = mkdtempSync(join(tmpdir(), 'simsong-index-'));
  const audio = join(ROOT, 'tests/fixtures/audio');
  const manifest = join(dir, 'catalog.csv');
  writeFileSync(manifest, [
    'id,audio,title,collection,tags,license',
    `a,${audio}/real_music_a_44k.mp3,"Menu, again",amoebax,genre:game;mood:upbeat,FAL-1.3`,
    `b,${audio}/real_music_b_16k.wav,Theme <b>,lugaru,genre:game;mood:calm,CC-BY-SA-3.0`,
    `chirp,${audio}/synth_chirp_16k.wav,Chirp,synth,genre:test,CC0-1.0`,
    `noise,${audio}/synth_noise_16k.wav,Noise,synth,genre:test;mood:calm,CC0-1.0`,
    `sine,${audio}/synth_sine440_16k.wav,Sine,synth,,CC0-1.0`,
  ].join('\n'));
  const out = join(dir, 'catalog.idx');
  execFileSync(BIN, ['index', 'build', '--manifest', manifest, '--model', MODEL, '--out', out], { stdio: 'pipe' });
  return { dir, out };
}

test('native index, wasm search: same hits and scores as the CLI', { skip }, () => {
  const { out } = buildIndex();
  const native = JSON.parse(execFileSync(BIN, ['query', out, '--id', 'a', '-k', '4', '--json'], { stdio: 'pipe' }));
  const index = new SimilarityIndex(readFileSync(out));
  assert.equal(index.length, 5);
  const tracks = index.tracks();
  assert.equal(tracks[1].title, 'Theme <b>', 'text comes back verbatim');
  assert.deepEqual(tracks[0].tags, { genre: ['game'], mood: ['upbeat'] });
  const hits = index.search({ positive: [{ track: 'a' }], k: 4 });
  assert.deepEqual(hits.map((h) => h.id), native.map((r) => r.hit.id));
  for (let i = 0; i < hits.length; i++) {
    assert.ok(Math.abs(hits[i].score - native[i].hit.score) < 1e-6);
    assert.equal(hits[i].bestSegmentSeconds, native[i].hit.bestSegmentSeconds);
  }
  const calm = index.search({ positive: [{ track: 'a' }], k: 10, filter: { catalog: { mood: ['calm'] } } });
  assert.deepEqual(calm.map((h) => h.id).sort(), ['b', 'noise']);
  const outside = index.search({ positive: [{ track: 'a' }], k: 10, filter: { catalog: { mood: ['calm'] }, outside: true } });
  assert.deepEqual(outside.map((h) => h.id).sort(), ['chirp', 'sine']);
  const info = index.info;
  assert.equal(info.tracks, 5);
  assert.equal(info.tags.genre.game, 2);
  assert.equal(info.header.modelName, 'test-untrained');
});

test('a dropped file is searched with the model that built the index', { skip }, () => {
  const { out } = buildIndex();
  const index = new SimilarityIndex(readFileSync(out));
  const engine = new SimilarityEngine(readFileSync(MODEL));
  index.checkModel(engine);
  const a = engine.analyzeFile(readFileSync(join(ROOT, 'tests/fixtures/audio/real_music_a_44k.mp3')), 'a.mp3');
  const hits = index.searchAnalysis(a, { k: 3 });
  assert.equal(hits[0].id, 'a', 'the same file is its own best match');
  assert.ok(hits[0].score > 0.9999);
  assert.throws(() => index.search({ positive: [{ track: 'zzz' }], k: 3 }), /no track with id `zzz`/);
});

test('damaged or foreign indexes are refused', { skip }, () => {
  const { out } = buildIndex();
  const good = readFileSync(out);
  assert.throws(() => new SimilarityIndex(good.subarray(0, good.length - 10)), /truncated/);
  const flipped = Uint8Array.from(good);
  flipped[flipped.length >> 1] ^= 4;
  assert.throws(() => new SimilarityIndex(flipped), /checksum/);
  assert.throws(() => new SimilarityIndex(new TextEncoder().encode('<html>404</html>')), /wrong magic/);
  // A payload length of 2^40 bytes: refused from the header, nothing allocated.
  const huge = Uint8Array.from(good);
  new DataView(huge.buffer).setBigUint64(16, 1n << 40n, true);
  assert.throws(() => new SimilarityIndex(huge), /truncated|length/);
  const future = Uint8Array.from(good);
  future[8] = 9;
  assert.throws(() => new SimilarityIndex(future), /format version 9/);
  // The same graph under another name is another model (another SHA-256): searching the index
  // with its analysis must fail, not rank nonsense.
  const bytes = Uint8Array.from(readFileSync(MODEL));
  const at = Buffer.from(bytes).indexOf('"name":"test-untrained"') + 8;
  assert.ok(at > 8);
  bytes[at] = 'T'.charCodeAt(0);
  const other = new SimilarityEngine(bytes);
  const index = new SimilarityIndex(good);
  assert.throws(() => index.checkModel(other), /built with model test-untrained .* loaded model is Test-untrained/);
  const a = other.analyzeFile(readFileSync(join(ROOT, 'tests/fixtures/audio/real_music_b_16k.wav')), 'b.wav');
  assert.throws(() => index.searchAnalysis(a, { k: 3 }), /rebuild the index or load the matching model/);
});

// An index published by the native CLI (format 3: manifest + parts) is loaded and searched by
// the wasm search module: same hits, same scores as the CLI's query on the same parts; damaged
// parts and a foreign model are refused with readable errors that name the part. A dropped file
// is analysed by the analysis module (another wasm instance, as in the worker) and its embedding
// searched in the search module.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initSync, SimilarityEngine } from '../../pkg/simsong.js';
import { initSync as initSearchSync, CatalogParts } from '../../pkg/simsong_search.js';
import { tempDir } from '../temp-dir.mjs';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
const BIN = process.env.SIMSONG_BIN;
const MODEL = join(ROOT, 'tests/fixtures/models/test-untrained.onnx');
const BROWSER_MODEL = join(ROOT, 'tests/fixtures/models/test-untrained.nnef.tar');
const skip = !BIN && 'SIMSONG_BIN not set';

initSync({ module: readFileSync(join(ROOT, 'pkg/simsong_bg.wasm')) });
initSearchSync({ module: readFileSync(join(ROOT, 'pkg/simsong_search_bg.wasm')) });

// What the worker does with an analysis: the index checks the model, then searches its embedding.
function searchAnalysis(parts, a, request) {
  parts.checkModelHash(a.modelSha256, a.modelName);
  return parts.search({ ...request, positive: [{ embedding: Array.from(a.embedding) }] });
}

const checkModel = (parts, engine) => parts.checkModelHash(engine.info.modelSha256, engine.info.model.name);

let built = null;
function buildIndex() {
  if (built) return built;
  const dir = tempDir('simsong-index-');
  const audio = join(ROOT, 'tests/fixtures/audio');
  const manifest = join(dir, 'catalog.csv');
  writeFileSync(
    manifest,
    [
      'id,audio,title,collection,tags,license',
      `a,${audio}/real_music_a_44k.mp3,"Menu, again",amoebax,genre:game;mood:upbeat,FAL-1.3`,
      `b,${audio}/real_music_b_16k.wav,Theme <b>,lugaru,genre:game;mood:calm,CC-BY-SA-3.0`,
      `chirp,${audio}/synth_chirp_16k.wav,Chirp,synth,genre:test,CC0-1.0`,
      `noise,${audio}/synth_noise_16k.wav,Noise,synth,genre:test;mood:calm,CC0-1.0`,
      `sine,${audio}/synth_sine440_16k.wav,Sine,synth,,CC0-1.0`,
    ].join('\n'),
  );
  const out = join(dir, 'catalog');
  execFileSync(BIN, ['index', 'build', '--manifest', manifest, '--model', MODEL, '--out', out], { stdio: 'pipe' });
  built = out;
  return out;
}

// What the worker does with HTTP, with files: every piece a step asks for, handed back.
function read(dir, f) {
  const bytes = readFileSync(join(dir, f.file));
  return bytes.subarray(f.offset, f.offset + f.length);
}

function open(dir) {
  const parts = new CatalogParts(readFileSync(join(dir, 'index.json')));
  for (const f of parts.loadNeeds()) parts.provide(f.key, read(dir, f));
  assert.ok(parts.complete);
  return parts;
}

function run(parts, job, dir, fetched = []) {
  for (;;) {
    const s = job.step(parts);
    if (s.done) return s;
    for (const f of s.needs) {
      fetched.push(f);
      parts.provide(f.key, read(dir, f));
    }
  }
}

test('published by the CLI, searched in wasm: same hits and scores as the CLI', { skip }, () => {
  const dir = buildIndex();
  const native = JSON.parse(execFileSync(BIN, ['query', dir, '--id', 'a', '-k', '4', '--json'], { stdio: 'pipe' }));
  const parts = open(dir);
  const info = parts.info;
  assert.equal(info.tracks, 5);
  assert.equal(info.tags.genre.game, 2);
  assert.equal(info.header.modelName, 'test-untrained');
  const fetched = [];
  const result = run(parts, parts.search({ positive: [{ track: 'a' }], k: 4 }), dir, fetched);
  assert.deepEqual(
    result.hits.map((h) => h.id),
    native.map((r) => r.hit.id),
  );
  for (let i = 0; i < result.hits.length; i++) {
    assert.ok(Math.abs(result.hits[i].score - native[i].hit.score) < 1e-6);
    assert.equal(result.hits[i].bestSegmentSeconds, native[i].hit.bestSegmentSeconds);
  }
  assert.equal(result.approximate, false);
  assert.deepEqual(result.notes, []);
  const b = result.hits.find((h) => h.id === 'b');
  assert.equal(b.track.title, 'Theme <b>', 'text comes back verbatim');
  assert.deepEqual(b.track.tags, { genre: ['game'], mood: ['calm'] });
  // Answered from the track's neighbour list: only its id bucket, its list and the hits'
  // metadata records were fetched, all by range (the list holds each hit's closest segment).
  assert.equal(result.fromNeighbours, true);
  const kinds = new Set(fetched.map((f) => f.key.split(':')[0]));
  assert.deepEqual([...kinds].sort(), ['ids', 'neighbours', 'record']);
  assert.ok(
    fetched.filter((f) => !f.whole).every((f) => f.length < 4096),
    'ranges, not whole parts',
  );

  const calm = run(parts, parts.search({ positive: [{ track: 'a' }], k: 10, filter: { catalog: { mood: ['calm'] } } }), dir);
  assert.deepEqual(calm.hits.map((h) => h.id).sort(), ['b', 'noise']);
  const outside = run(parts, parts.search({ positive: [{ track: 'a' }], k: 10, filter: { catalog: { mood: ['calm'] }, outside: true } }), dir);
  assert.deepEqual(outside.hits.map((h) => h.id).sort(), ['chirp', 'sine']);
  const page = run(parts, parts.browse({ catalog: { genre: ['game'] } }, 0, 10), dir);
  assert.equal(page.total, 2);
  assert.deepEqual(page.rows.map((r) => r.track.id).sort(), ['a', 'b']);
  const looked = run(parts, parts.lookup(['chirp', 'zzz']), dir);
  assert.equal(looked.rows[0].track.title, 'Chirp');
  assert.equal(looked.rows[1], null);
});

test('a dropped file is searched with the model that built the index', { skip }, () => {
  const dir = buildIndex();
  const parts = open(dir);
  const engine = new SimilarityEngine(readFileSync(BROWSER_MODEL));
  checkModel(parts, engine);
  const a = engine.analyzeFile(readFileSync(join(ROOT, 'tests/fixtures/audio/real_music_a_44k.mp3')), 'a.mp3');
  const { hits } = run(parts, searchAnalysis(parts, a, { k: 3 }), dir);
  assert.equal(hits[0].id, 'a', 'the same file is its own best match');
  assert.ok(hits[0].score > 0.999);
  assert.throws(() => run(parts, parts.search({ positive: [{ track: 'zzz' }], k: 3 }), dir), { message: /no track with id `zzz`/, code: 'unknown-track', details: { id: 'zzz' } });
});

test('damaged, foreign and lying parts are refused by name; a foreign model too', { skip }, () => {
  const dir = buildIndex();
  const manifest = readFileSync(join(dir, 'index.json'));
  const parts = new CatalogParts(manifest);
  const codes = parts.loadNeeds().find((f) => f.key === 'codes:0');
  const good = read(dir, codes);
  assert.throws(() => parts.provide('codes:0', good.subarray(0, good.length - 10)), new RegExp(`${codes.file}.*bytes arrived`));
  const flipped = Uint8Array.from(good);
  flipped[flipped.length >> 1] ^= 4;
  assert.throws(() => parts.provide('codes:0', flipped), { message: /checksum mismatch/, code: 'index-part', details: { part: codes.file } });
  assert.match(parts.failure('codes:0'), /checksum mismatch/, 'the failure is remembered');
  parts.provide('codes:0', good);
  assert.throws(() => new CatalogParts(new TextEncoder().encode('<!DOCTYPE html><p>404</p>')), /HTML/);
  const json = JSON.parse(manifest);
  const future = json.version + 1;
  assert.throws(() => new CatalogParts(new TextEncoder().encode(JSON.stringify({ ...json, version: future }))), {
    message: new RegExp(`format version ${future}`),
    code: 'index-version',
    details: { found: future, supported: json.version },
  });
  json.generations[0].rerank.bytes += 1;
  assert.throws(() => new CatalogParts(new TextEncoder().encode(JSON.stringify(json))), /re-ranking part must hold/);
  // A one-file index where a manifest belongs: told how to publish it.
  assert.throws(() => new CatalogParts(Uint8Array.from([...new TextEncoder().encode('SIMSIDX'), 0x1a, 1, 0, 0, 0])), /one-file index .*index merge/);
  // The model's archive with its stated name edited is refused as edited, not run under the
  // same identity.
  const bytes = Uint8Array.from(readFileSync(BROWSER_MODEL));
  const at = Buffer.from(bytes).indexOf('"name": "test-untrained"') + 9;
  assert.ok(at > 9);
  bytes[at] = 'T'.charCodeAt(0);
  assert.throws(() => new SimilarityEngine(bytes), /does not match its digest/);
  // Another model (another SHA-256): searching the index with its analysis must fail, not rank
  // nonsense.
  const other = new SimilarityEngine(readFileSync(join(ROOT, 'models/simsong.nnef.tar')));
  const index = open(dir);
  assert.throws(() => checkModel(index, other), { message: /built with model test-untrained .* loaded model is simsong-cnn-v3/, code: 'index-model-mismatch' });
  const a = other.analyzeFile(readFileSync(join(ROOT, 'tests/fixtures/audio/real_music_b_16k.wav')), 'b.wav');
  assert.throws(() => searchAnalysis(index, a, { k: 3 }), /rebuild the index or load the matching model/);
});

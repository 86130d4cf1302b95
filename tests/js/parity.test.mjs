// Side by side in one run: the native CLI and the wasm build in Node embed the same files;
// the embeddings must agree to 1e-5.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initSync, SimilarityEngine, analysisParams, tempoOfSamples } from '../../pkg/simsong.js';
import { tempDir } from '../temp-dir.mjs';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
const BIN = process.env.SIMSONG_BIN;
const MODEL = join(ROOT, 'tests/fixtures/models/test-untrained.onnx');
// The browser engine loads the model's NNEF form (`simsong model-export`): the CLI runs the ONNX
// file, wasm the archive, and the numbers must still agree.
const BROWSER_MODEL = join(ROOT, 'tests/fixtures/models/test-untrained.nnef.tar');
const FILES = ['real_music_a_44k.mp3', 'real_music_a_44k.ogg', 'real_music_a_44k.flac', 'real_music_a_44k.m4a', 'real_music_b_16k.wav', 'synth_sine1k_48k_stereo.wav', 'synth_chirp_16k.wav'].map(
  (f) => `tests/fixtures/audio/${f}`,
);

initSync({ module: readFileSync(join(ROOT, 'pkg/simsong_bg.wasm')) });

test('wasm in Node and the native CLI give the same embeddings', { skip: !BIN && 'SIMSONG_BIN not set' }, () => {
  const out = join(tempDir('simsong-'), 'native.csv');
  execFileSync(BIN, ['embed', ...FILES, '--model', MODEL, '--out', out], { cwd: ROOT, stdio: 'pipe' });
  const [header, ...rows] = readFileSync(out, 'utf8').trim().split('\n');
  assert.equal(header.split(',').length, 33, 'path + 32 dimensions');
  assert.equal(rows.length, FILES.length);

  const engine = new SimilarityEngine(readFileSync(BROWSER_MODEL));
  let worst = 0;
  for (const row of rows) {
    const [path, ...values] = row.split(',');
    const native = values.map(Number);
    const a = engine.analyzeFile(readFileSync(join(ROOT, path)), path);
    const wasm = a.embedding;
    a.free();
    assert.equal(wasm.length, native.length);
    for (let i = 0; i < wasm.length; i++) worst = Math.max(worst, Math.abs(wasm[i] - native[i]));
  }
  console.log(`max |native - wasm| over ${rows.length} files: ${worst.toExponential(2)}`);
  assert.ok(worst <= 1e-5, `max difference ${worst}`);
});

// A model of the aiSFX front-end kind (the teacher's; a toy one, tests/fixtures/make_aisfx_test_model.py):
// wasm cuts its patches from its own 44.1 kHz chain and gives what onnx's reference evaluator gives on
// librosa's log-mel, segment by segment, while the display spectrogram stays at the product's numbers.
test('wasm embeds a model of the aiSFX kind from its own patches', () => {
  const engine = new SimilarityEngine(readFileSync(join(ROOT, 'tests/fixtures/models/test-aisfx-untrained.nnef.tar')));
  const reference = JSON.parse(readFileSync(join(ROOT, 'tests/fixtures/reference/test-aisfx-untrained.real_music_a_44k.json'), 'utf8'));
  const a = engine.analyzeFile(readFileSync(join(ROOT, 'tests/fixtures/audio/real_music_a_44k.wav')), 'a.wav');
  const dim = a.embeddingDim;
  const starts = a.segmentStarts;
  const segments = a.segmentEmbeddings;
  const secondsPerColumn = a.melSecondsPerColumn;
  a.free();
  assert.equal(dim, 32);
  assert.deepEqual(
    Array.from(starts).map((s) => s.toFixed(6)),
    reference.segment_start_seconds.map((s) => s.toFixed(6)),
  );
  let worst = 0;
  reference.segment_embeddings.forEach((want, i) => {
    for (let j = 0; j < dim; j++) worst = Math.max(worst, Math.abs(segments[i * dim + j] - want[j]));
  });
  console.log(`aiSFX kind: max |wasm - reference evaluator| ${worst.toExponential(2)}`);
  assert.ok(worst <= 1e-4, `max difference ${worst}`);
  assert.ok(secondsPerColumn < 0.1, 'the overview is cut from the 16 kHz chain (16 ms frames)');
});

test('the wasm API reports bad input as errors with readable messages', () => {
  const engine = new SimilarityEngine(readFileSync(BROWSER_MODEL));
  assert.throws(() => engine.analyzeFile(new Uint8Array(0), 'x.mp3'), { message: /the file is empty/, code: 'empty-input' });
  assert.throws(() => engine.analyzeFile(readFileSync(join(ROOT, 'tests/fixtures/audio/bad/text.mp3')), 'text.mp3'), /unsupported or unrecognised audio format/);
  assert.throws(() => engine.analyzePcm(new Float32Array(16000), 16000, 1), { message: /silent/, code: 'silent', details: { peakDbfs: -Infinity } });
  assert.throws(() => engine.analyzePcm(new Float32Array(100).fill(0.1), 16000, 0), /channels/);
  assert.throws(() => new SimilarityEngine(readFileSync(join(ROOT, 'tests/fixtures/models/test-wrong-nmels.nnef.tar'))), { message: /different analysis numbers/, code: 'params-mismatch' });
  assert.throws(() => new SimilarityEngine(new Uint8Array([1, 2, 3])), /invalid model/);
  assert.throws(() => new SimilarityEngine(readFileSync(MODEL)), /looks like an ONNX file.*simsong model-export/);
});

test('analysis numbers are exported and match the design', () => {
  const p = analysisParams();
  assert.deepEqual([p.sample_rate_hz, p.n_fft, p.hop_length, p.n_mels, p.patch_frames], [16000, 512, 256, 96, 187]);
});

test('PCM in (from decodeAudioData) and the same file give the same embedding', () => {
  const engine = new SimilarityEngine(readFileSync(BROWSER_MODEL));
  // A 16-bit mono WAV at 16 kHz: read its samples the way a browser would.
  const bytes = readFileSync(join(ROOT, 'tests/fixtures/audio/real_music_b_16k.wav'));
  const view = new DataView(bytes.buffer, bytes.byteOffset + 44, bytes.length - 44);
  const pcm = new Float32Array(view.byteLength / 2);
  for (let i = 0; i < pcm.length; i++) pcm[i] = view.getInt16(2 * i, true) / 32768;
  const fromPcm = engine.analyzePcm(pcm, 16000, 1);
  const fromFile = engine.analyzeFile(bytes, 'b.wav');
  assert.deepEqual(Array.from(fromPcm.embedding), Array.from(fromFile.embedding));
  assert.equal(fromPcm.durationSeconds, 6);
});

test('tempoOfSamples (no model) is the tempo an analysis gives, and says when there is none', () => {
  // A click every 0.5 s at 16 kHz: 120 BPM.
  const clicks = new Float32Array(16000 * 20);
  for (let k = 0; k < 40; k++) {
    const at = Math.round(k * 0.5 * 16000);
    for (let j = 0; j < 320 && at + j < clicks.length; j++) clicks[at + j] = 0.8 * Math.sin((2 * Math.PI * 1500 * j) / 16000) * Math.exp((-300 * j) / 16000);
  }
  const tempo = tempoOfSamples(clicks);
  assert.ok(tempo.clear && Math.abs(tempo.bpm - 120) < 1.2, JSON.stringify(tempo));
  const engine = new SimilarityEngine(readFileSync(BROWSER_MODEL));
  const a = engine.analyzePcm(clicks, 16000, 1);
  // The analysis removes DC first (the clicks have none worth speaking of): the same beat.
  assert.ok(Math.abs(a.tempo.bpm - tempo.bpm) < 0.5 && Math.abs(a.tempo.confidence - tempo.confidence) < 0.05, `${JSON.stringify(a.tempo)} vs ${JSON.stringify(tempo)}`);
  a.free();
  const unclear = tempoOfSamples(new Float32Array(16000 * 3));
  assert.equal(unclear.clear, false);
  assert.equal(unclear.confidence, 0);
});

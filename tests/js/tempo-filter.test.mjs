// The tempo filter's parsing and request building (www/tempo-filter.js), without a browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clearBpm, formatBpm, parseBpm, tempoRequest } from '../../www/tempo-filter.js';

test('BPM ranges parse, format back, and nonsense is refused', () => {
  assert.deepEqual(parseBpm('90-110'), { min: 90, max: 110 });
  assert.deepEqual(parseBpm(' 90 - '), { min: 90, max: null });
  assert.deepEqual(parseBpm('-110'), { min: null, max: 110 });
  assert.deepEqual(parseBpm('92.5-93'), { min: 92.5, max: 93 });
  for (const bad of ['', '-', '110-90', 'fast', '90', '90-110-130', null]) assert.equal(parseBpm(bad), null, String(bad));
  for (const text of ['90-110', '90-', '-110']) assert.equal(formatBpm(parseBpm(text)), text);
  assert.equal(formatBpm(null), '');
});

test("a tempo counts from the index's confidence, in whole BPM within the stored range", () => {
  // As the engine's index info states it (src/wasm/catalog.rs, src/tempo/code.rs).
  const index = { minConfidence: 0.12, minBpm: 30, maxBpm: 284 };
  assert.equal(clearBpm({ bpm: 119.8, confidence: 0.4 }, index), 120);
  assert.equal(clearBpm({ bpm: 119.8, confidence: 0.05 }, index), null);
  assert.equal(clearBpm(null, index), null);
  assert.equal(clearBpm({ bpm: 400, confidence: 0.9 }, index), 284);
  assert.equal(clearBpm({ bpm: 12, confidence: 0.9 }, index), 30);
  assert.equal(clearBpm({ bpm: 120, confidence: 0.9 }, undefined), null, 'no index tempo yet');
});

test("the request carries only what is asked; similar tempo needs the reference's", () => {
  assert.equal(tempoRequest(null, false, 120), undefined);
  assert.deepEqual(tempoRequest({ min: 90, max: null }, false, 120), { minBpm: 90 });
  assert.deepEqual(tempoRequest(null, true, 120), { nearBpm: 120 });
  assert.equal(tempoRequest(null, true, null), undefined);
  assert.deepEqual(tempoRequest({ min: 90, max: 110 }, true, 100), { minBpm: 90, maxBpm: 110, nearBpm: 100 });
});

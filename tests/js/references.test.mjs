// The shortlist's rules (www/references.js): one side per track, the first positive reference is
// the one shown, what the engine is sent, and the ids read from attributes and URLs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_REFERENCES, ReferenceSet, parseIds } from '../../www/references.js';

const track = (id) => ({ kind: 'track', id });

test('a track is on one side at most; the first positive one is the primary', () => {
  const refs = new ReferenceSet();
  assert.equal(refs.primary, null);
  refs.reset([track('a')]);
  assert.equal(refs.add(track('b'), 'positive'), true);
  assert.equal(refs.add(track('b'), 'positive'), false, 'already there');
  assert.equal(refs.add(track('c'), 'negative'), true);
  assert.equal(refs.add(track('b'), 'negative'), true, 'moves from positive to negative');
  assert.deepEqual(refs.describe(), { positive: [track('a')], negative: [track('c'), track('b')] });
  assert.equal(refs.polarityOf('b'), 'negative');
  assert.equal(refs.polarityOf('z'), null);
  assert.deepEqual(refs.primary, track('a'));
  assert.equal(refs.remove(track('a')), true);
  assert.equal(refs.primary, null, 'no positive reference left');
  assert.equal(refs.remove(track('a')), false);
  assert.equal(refs.size, 2);
});

test('the worker gets the whole shortlist: songs by the id of their analysis, or by embedding', () => {
  const refs = new ReferenceSet();
  const song = { kind: 'file', name: 'mine.wav', analysisId: 4, embedding: new Float32Array([0.6, 0.8]) };
  refs.reset([track('a'), song], [track('n')]);
  assert.deepEqual(refs.shortlist(), { positive: [{ track: 'a' }, { analysis: 4 }], negative: [{ track: 'n' }] });
  // A part of it once searched: by id and part, or by the part's embedding the worker sent back.
  song.part = { start: 1, end: 2 };
  assert.deepEqual(refs.shortlist().positive[1], { analysis: 4, part: { start: 1, end: 2 } });
  assert.deepEqual(refs.shortlist(true).positive[1], { embedding: [0.6000000238418579, 0.800000011920929] }, 'no part embedding yet: the whole');
  song.partEmbedding = new Float32Array([1, 0]);
  assert.deepEqual(refs.shortlist(true), { positive: [{ track: 'a' }, { embedding: [1, 0] }], negative: [{ track: 'n' }] });
  delete song.part;
  assert.deepEqual(refs.describe().positive, [track('a'), { kind: 'file', name: 'mine.wav' }]);
  // The same song object is one reference; another song of the same name is another.
  assert.equal(refs.add(song, 'positive'), false);
  assert.equal(refs.add({ ...song }, 'positive'), true);
  assert.deepEqual(refs.trackIds('positive'), ['a']);
});

test('a side holds at most MAX_REFERENCES', () => {
  const refs = new ReferenceSet();
  refs.reset(Array.from({ length: MAX_REFERENCES + 5 }, (_, i) => track(`t${i}`)));
  assert.equal(refs.positive.length, MAX_REFERENCES);
  assert.equal(refs.add(track('one-more'), 'positive'), false);
  assert.equal(refs.add(track('one-more'), 'negative'), true);
});

test('ids from attributes and URLs: spaces or commas, duplicates dropped', () => {
  assert.deepEqual(parseIds('a, b  c,a'), ['a', 'b', 'c']);
  assert.deepEqual(parseIds(''), []);
  assert.deepEqual(parseIds(null), []);
  assert.equal(parseIds(Array.from({ length: 80 }, (_, i) => `t${i}`).join(',')).length, MAX_REFERENCES);
});

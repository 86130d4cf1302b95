// The widget's tag-filter rules (www/tags.js) agree with the index's: any value within a
// category, all categories, "outside" is the complement; the attribute syntax round-trips.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, formatFilter, isEmpty, matches, parseFilter, requestFilter } from '../../www/tags.js';

test('the filter attribute parses and formats back', () => {
  const f = parseFilter(' game:Lugaru; game:Amoebax ;format:tracker module;;bad;:x;y:');
  assert.deepEqual(Object.keys(f), ['game', 'format']);
  assert.deepEqual([...f.game], ['Lugaru', 'Amoebax']);
  assert.equal(formatFilter(f), 'game:Lugaru;game:Amoebax;format:tracker module');
  assert.ok(isEmpty(parseFilter('')));
  assert.ok(isEmpty({ game: new Set() }));
});

test('browse filtering: any-of within a category, all-of across, outside inverts', () => {
  const predicted = new Set(['instrument']);
  const track = { tags: { game: ['Lugaru'], format: ['recording'] }, predicted: { instrument: ['piano'] } };
  const untagged = { tags: {}, predicted: {} };
  const f = parseFilter('game:Lugaru;game:Amoebax;format:recording');
  assert.ok(matches(track, f, false, predicted));
  assert.ok(!matches(untagged, f, false, predicted));
  assert.ok(matches(untagged, f, true, predicted), 'untagged tracks are outside');
  assert.ok(!matches(track, f, true, predicted));
  assert.ok(matches(track, parseFilter('instrument:piano'), false, predicted));
  assert.ok(!matches(track, parseFilter('instrument:piano;format:tracker module'), false, predicted));
  assert.ok(matches(untagged, {}, false, predicted), 'no filter keeps everything');
});

test('the search request splits catalog and predicted categories', () => {
  const predicted = new Set(['instrument']);
  assert.equal(requestFilter({}, true, predicted), undefined);
  assert.deepEqual(requestFilter(parseFilter('game:Lugaru;instrument:piano'), true, predicted), {
    catalog: { game: ['Lugaru'] }, predicted: { instrument: ['piano'] }, outside: true,
  });
});

test('durations', () => {
  assert.equal(formatDuration(0), '0:00');
  assert.equal(formatDuration(61.4), '1:01');
  assert.equal(formatDuration(NaN), '');
});

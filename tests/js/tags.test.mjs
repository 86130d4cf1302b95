// The widget's tag-filter syntax (www/tags.js): the attribute round-trips, and the request
// splits catalog from predicted categories (the index applies the rules; tests/js/index.test.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, formatFilter, isEmpty, parseFilter, requestFilter } from '../../www/tags.js';

test('the filter attribute parses and formats back', () => {
  const f = parseFilter(' game:Lugaru; game:Amoebax ;format:tracker module;;bad;:x;y:');
  assert.deepEqual(Object.keys(f), ['game', 'format']);
  assert.deepEqual([...f.game], ['Lugaru', 'Amoebax']);
  assert.equal(formatFilter(f), 'game:Lugaru;game:Amoebax;format:tracker module');
  assert.ok(isEmpty(parseFilter('')));
  assert.ok(isEmpty({ game: new Set() }));
});

test('the search request splits catalog and predicted categories', () => {
  const predicted = new Set(['instrument']);
  assert.equal(requestFilter({}, true, predicted), undefined);
  assert.deepEqual(requestFilter(parseFilter('game:Lugaru;instrument:piano'), true, predicted), {
    catalog: { game: ['Lugaru'] },
    predicted: { instrument: ['piano'] },
    outside: true,
  });
});

test('durations', () => {
  assert.equal(formatDuration(0), '0:00');
  assert.equal(formatDuration(61.4), '1:01');
  assert.equal(formatDuration(NaN), '');
});

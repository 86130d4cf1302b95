// The page ↔ worker protocol (www/protocol.js): errors keep their code and details across
// postMessage, every code is declared to the element's users, and the engine's codes are Rust's.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { answerFailed, answerOk, answerProgress, answerSuperseded, ErrorCode, errorFromWire, errorToWire, hasCode, Message, SimsongError } from '../../www/protocol.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');

test('an engine error crosses postMessage with its code and details', () => {
  // What the wasm bindings throw (src/wasm/mod.rs JsFailure): an Error with code and details.
  const thrown = Object.assign(new Error('no track with id `x` in the index'), { code: 'unknown-track', details: { id: 'x' } });
  const answer = structuredClone(answerFailed(7, 3, thrown));
  assert.deepEqual(answer, { id: 7, gen: 3, ok: false, fatal: false, error: { code: 'unknown-track', message: 'no track with id `x` in the index', details: { id: 'x' } } });
  const back = errorFromWire(answer.error);
  assert.ok(back instanceof SimsongError && back instanceof Error);
  assert.equal(back.code, ErrorCode.UNKNOWN_TRACK);
  assert.deepEqual(back.details, { id: 'x' });
  assert.equal(back.message, 'no track with id `x` in the index');
  assert.ok(hasCode(back, 'unknown-track'));
  assert.deepEqual(JSON.parse(JSON.stringify(back)), answer.error, 'toJSON is the wire form');
});

test('errors without a known code travel as internal, never lose their message', () => {
  assert.deepEqual(errorToWire(new TypeError('x is not a function')), { code: 'internal', message: 'x is not a function', details: {} });
  assert.deepEqual(errorToWire('a string'), { code: 'internal', message: 'a string', details: {} });
  assert.equal(errorToWire({ code: 'ENOENT', message: 'node' }).code, 'internal', 'a foreign code is not ours');
  assert.equal(errorFromWire('an older worker’s text').message, 'an older worker’s text');
  assert.equal(errorFromWire({ code: 'made-up', message: 'm' }).code, 'internal');
  const fatal = answerFailed(1, undefined, new SimsongError(ErrorCode.ENGINE_CRASHED, 'trap'), true);
  assert.equal(fatal.fatal, true);
  assert.equal(fatal.error.code, 'engine-crashed');
});

test('answers have one shape each', () => {
  assert.deepEqual(answerOk(1, 2, { hits: [] }), { id: 1, gen: 2, ok: true, hits: [] });
  assert.deepEqual(answerSuperseded(1, 2), { id: 1, gen: 2, superseded: true });
  assert.deepEqual(answerProgress(1, undefined, { stage: 'index', loaded: 5, total: 9 }), { id: 1, gen: undefined, progress: { stage: 'index', loaded: 5, total: 9 } });
  const types = Object.values(Message);
  assert.equal(new Set(types).size, types.length, 'message types are distinct');
});

test('every code is declared in the element’s types, and the engine’s codes are Rust’s', () => {
  const codes = Object.values(ErrorCode);
  assert.equal(new Set(codes).size, codes.length, 'codes are distinct');
  const dts = readFileSync(join(ROOT, 'www/similar-songs.d.ts'), 'utf8');
  const union = dts.slice(dts.indexOf('export type ErrorCode ='), dts.indexOf(';', dts.indexOf('export type ErrorCode =')));
  const declared = [...union.matchAll(/'([a-z-]+)'/g)].map((m) => m[1]);
  assert.deepEqual([...declared].sort(), [...codes].sort(), 'similar-songs.d.ts ErrorCode lists exactly protocol.js ErrorCode');
  // Rust's list (src/error.rs Error::CODES; its own test checks it against every variant).
  const rust = readFileSync(join(ROOT, 'src/error.rs'), 'utf8');
  const list = rust.slice(rust.indexOf('pub const CODES'), rust.indexOf('];', rust.indexOf('pub const CODES')));
  const engineCodes = [...list.matchAll(/"([a-z-]+)"/g)].map((m) => m[1]);
  assert.ok(engineCodes.length >= 20);
  assert.deepEqual(engineCodes, codes.slice(0, engineCodes.length), 'the engine’s codes come first, in Rust’s order');
});

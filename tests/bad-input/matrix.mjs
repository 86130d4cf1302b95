// The bad-input matrix: one list of hostile or unusual audio files with what must happen to each,
// run by three runtimes so they cannot drift apart:
//   natively       tests/audio_matrix.rs (via `node tests/bad-input/write.mjs DIR`),
//   wasm in Node   tests/js/bad-input.test.mjs,
//   in the page    tests/e2e/bad-input.test.mjs (dropped into <similar-songs>).
//
// Each case is { name, bytes: Uint8Array, expect, page? }:
//   expect.error   a regular expression (source) the error message must match, and
//   expect.code    the error's code (Rust's `Error::code`, the page's ErrorCode; `a|b`: either), or
//   expect.seconds [min, max] decoded duration of a successful analysis (embedding finite, unit);
//   expect.like    with `seconds`: [case, cosine]: the earlier case whose embedding this one must
//                  resemble, and the least cosine similarity allowed;
//   page           what the page shows instead, where the browser's own decoder steps in
//                  ({ error, code } or { seconds }); absent means the same as `expect`;
//   wasmTrap       true where the decoder panics: natively that is caught and reported, in wasm
//                  it aborts the instance (the page then replaces its worker).
// Everything is generated from the committed fixtures or synthesised, deterministically.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
const AUDIO = join(ROOT, 'tests/fixtures/audio');

/** Interleaved samples (numbers, full scale ±1) as a WAV file: 16-bit PCM or 32-bit float. */
export function wav(samples, sampleRate, channels, { float = false, dataBytes, extensible = channels > 2 } = {}) {
  const bytesPer = float ? 4 : 2;
  const data = samples.length * bytesPer;
  // More than two channels: WAVE_FORMAT_EXTENSIBLE by default, as real multichannel files are.
  const fmtLen = extensible ? 40 : 16;
  const buf = new ArrayBuffer(12 + 8 + fmtLen + 8 + data);
  const v = new DataView(buf);
  const ascii = (at, s) => {
    for (let i = 0; i < s.length; i++) v.setUint8(at + i, s.charCodeAt(i));
  };
  const format = float ? 3 : 1;
  ascii(0, 'RIFF');
  v.setUint32(4, buf.byteLength - 8, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  v.setUint32(16, fmtLen, true);
  v.setUint16(20, extensible ? 0xfffe : format, true);
  v.setUint16(22, channels, true);
  v.setUint32(24, sampleRate, true);
  v.setUint32(28, sampleRate * channels * bytesPer, true);
  v.setUint16(32, channels * bytesPer, true);
  v.setUint16(34, bytesPer * 8, true);
  let at = 36;
  if (extensible) {
    v.setUint16(36, 22, true);
    v.setUint16(38, bytesPer * 8, true);
    v.setUint32(40, 2 ** channels - 1, true); // the first `channels` speaker positions
    // Sub-format GUID: 0000000X-0000-0010-8000-00aa00389b71, X = 1 (PCM) or 3 (float).
    const guid = [format, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xaa, 0, 0x38, 0x9b, 0x71];
    for (const [i, b] of guid.entries()) v.setUint8(44 + i, b);
    at = 60;
  }
  ascii(at, 'data');
  v.setUint32(at + 4, dataBytes ?? data, true);
  at += 8;
  for (const s of samples) {
    if (float) {
      v.setFloat32(at, s, true);
    } else {
      v.setInt16(at, Math.max(-32768, Math.min(32767, Math.round(s * 32767))), true);
    }
    at += bytesPer;
  }
  return new Uint8Array(buf);
}

/**
 * Music-like test signal, computed exactly at any rate: a four-chord progression of harmonic
 * tones (0.5 s per chord) with a plucked envelope, `seconds` long, as interleaved samples.
 */
export function song(sampleRate, channels, seconds, level = 0.3) {
  const chords = [
    [220, 277.2, 329.6],
    [196, 246.9, 293.7],
    [174.6, 220, 261.6],
    [196, 246.9, 329.6],
  ];
  const n = Math.round(sampleRate * seconds);
  const out = new Float64Array(n * channels);
  for (let i = 0; i < n; i++) {
    const t = i / sampleRate;
    const chord = chords[Math.floor(t / 0.5) % chords.length];
    const envelope = Math.exp(-4 * (t % 0.5));
    let v = 0;
    for (const f of chord) {
      for (let h = 1; h <= 4; h++) v += Math.sin(2 * Math.PI * f * h * t) / (h * h);
    }
    v *= (level * envelope) / 3;
    for (let c = 0; c < channels; c++) out[i * channels + c] = v;
  }
  return out;
}

// Deterministic byte damage: every `every` bytes after the first `skip`, flip one bit
// (positions from a fixed linear congruential sequence).
function flipBits(bytes, { skip = 1024, every = 400, seed = 12345 } = {}) {
  const out = Uint8Array.from(bytes);
  let state = seed;
  for (let block = skip; block + every <= out.length; block += every) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    out[block + (state % every)] ^= 1 << (state >>> 29);
  }
  return out;
}

const fixture = (name) => new Uint8Array(readFileSync(join(AUDIO, name)));
const cut = (bytes, share) => bytes.subarray(0, Math.floor(bytes.length * share));

const SILENT = 'the audio is silent';
const UNKNOWN = '^unsupported or unrecognised audio format';
const PAGE_UNREADABLE = 'is not an audio file this page can read';

/** The matrix. `long: true` cases (an hour of audio) are large; runtimes may run them apart. */
export function cases({ long = true } = {}) {
  const list = [];
  const add = (name, bytes, expect, extra = {}) => list.push({ name, bytes, expect, ...extra });

  // Nothing, or not audio at all.
  add('empty.mp3', new Uint8Array(0), { error: '^the file is empty$', code: 'empty-input' });
  add(
    'text-renamed.mp3',
    new TextEncoder().encode('<!doctype html><title>not a song</title>\n'.repeat(8)),
    { error: UNKNOWN, code: 'unsupported-format' },
    { page: { error: PAGE_UNREADABLE, code: 'unreadable-file' } },
  );
  add('header-only.wav', fixture('real_music_a_44k.wav').subarray(0, 44), { error: 'no audio samples', code: 'no-audio' });

  add('real-music.wav', fixture('real_music_a_44k.wav'), { seconds: [5.99, 6.01] });
  // Truncated mid-stream: what was decoded is kept; cut inside the headers: a clear error.
  for (const ext of ['mp3', 'ogg', 'flac', 'wav']) {
    const whole = fixture(`real_music_a_44k.${ext}`);
    add(`truncated-60pct.${ext}`, cut(whole, 0.6), { seconds: [2.9, 3.7], like: ['real-music.wav', 0.8] });
  }
  add('truncated-headers.ogg', fixture('real_music_a_44k.ogg').subarray(0, 3000), { error: 'corrupt|no audio samples', code: 'corrupt-audio|no-audio' });
  add('truncated-headers.flac', fixture('real_music_a_44k.flac').subarray(0, 2000), { error: 'corrupt|no audio samples', code: 'corrupt-audio|no-audio' });

  // Found by fuzzing: a sample table declaring a 2.9 GB packet, a 3.1 GB `hdlr` box (both used
  // to exhaust wasm memory).
  add('fuzz-mp4-oom.m4a', fixture('bad/fuzz-mp4-oom.m4a'), { error: 'MP4 sample table: a sample declares 2902589952 bytes', code: 'corrupt-audio' });
  add('fuzz-mp4-hdlr-oom.m4a', fixture('bad/fuzz-mp4-hdlr-oom.m4a'), { error: 'MP4 box `hdlr` declares', code: 'corrupt-audio' });
  add('fuzz-mp4-stts-oom.m4a', fixture('bad/fuzz-mp4-stts-oom.m4a'), { error: 'MP4 table `stts` declares', code: 'corrupt-audio' });
  // And an AAC stream on which symphonia 0.5.5 indexes out of bounds (a panic).
  add(
    'fuzz-aac-panic.m4a',
    fixture('bad/fuzz-aac-panic.m4a'),
    { error: 'the decoder failed on this file', code: 'corrupt-audio' },
    { wasmTrap: true, page: { error: 'the analysis engine crashed on this input', code: 'engine-crashed' } },
  );

  // Bit rot: damaged frames are skipped or the damage is decoded; never a panic.
  add('bitflips.mp3', flipBits(fixture('real_music_a_44k.mp3')), { seconds: [5, 6.5] });
  add('bitflips.ogg', flipBits(fixture('real_music_a_44k.ogg')), { error: 'corrupt: .*crc mismatch', code: 'corrupt-audio' });
  add('bitflips.flac', flipBits(fixture('real_music_a_44k.flac')), { error: 'no audio samples', code: 'no-audio' });
  add('bitflips.wav', flipBits(fixture('real_music_a_44k.wav')), { seconds: [5.99, 6.01], like: ['real-music.wav', 0.85] });

  // Levels: silence, DC offset, clipping, far beyond full scale, NaN and infinity.
  add('reference.wav', wav(song(16000, 1, 4), 16000, 1), { seconds: [3.99, 4.01] });
  add('silence.wav', wav(new Float64Array(16000 * 3), 16000, 1), { error: SILENT, code: 'silent' });
  add(
    'dc-offset.wav',
    wav(
      song(16000, 1, 4).map((v) => 0.5 + v),
      16000,
      1,
    ),
    { seconds: [3.99, 4.01], like: ['reference.wav', 0.98] },
  );
  add('clipped.wav', wav(song(16000, 1, 4, 8), 16000, 1), { seconds: [3.99, 4.01] });
  add('loud-float.wav', wav(song(16000, 1, 4, 1000), 16000, 1, { float: true }), { seconds: [3.99, 4.01] });
  const poisoned = song(16000, 1, 4);
  poisoned[1000] = NaN;
  poisoned[2000] = Infinity;
  poisoned[3000] = -Infinity;
  add('nan-inf-float.wav', wav(poisoned, 16000, 1, { float: true }), { error: 'corrupt: decoded sample 1000 is not a finite number', code: 'corrupt-audio' });

  // Lengths: one second (a single zero-padded patch), a size field that lies.
  add('one-second.wav', wav(song(44100, 2, 1), 44100, 2), { seconds: [0.99, 1.01] });
  add('streamed-size.wav', wav(song(16000, 1, 4), 16000, 1, { dataBytes: 0xffffffff }), { seconds: [3.99, 4.01], like: ['reference.wav', 0.9999] });

  // Rates from 8 kHz to 192 kHz, mono to 8 channels: all the same music.
  add('rate-16000-ch1.wav', wav(song(16000, 1, 2), 16000, 1), { seconds: [1.99, 2.01] });
  for (const [rate, channels] of [
    [8000, 1],
    [11025, 2],
    [22050, 1],
    [32000, 3],
    [44100, 2],
    [48000, 6],
    [88200, 1],
    [96000, 8],
    [176400, 2],
    [192000, 8],
  ]) {
    add(`rate-${rate}-ch${channels}.wav`, wav(song(rate, channels, 2), rate, channels), { seconds: [1.99, 2.01], like: ['rate-16000-ch1.wav', 0.98] });
  }
  // Outside what any music file is: refused, with the reason.
  add('rate-1hz.wav', wav(song(16000, 1, 1), 1, 1), { error: 'unsupported audio: sample rate 1 Hz is outside', code: 'absurd-audio' });
  // (A plain PCM header: the extensible one's 32-bit speaker mask cannot describe 40 channels.)
  add('channels-40.wav', wav(song(16000, 40, 0.5), 16000, 40, { extensible: false }), { error: 'corrupt: .*invalid channel count', code: 'corrupt-audio' });

  if (long) {
    const minute = song(8000, 1, 60);
    // An hour at 8 kHz mono (57.6 MB): analysed with at most 128 patches, in bounded memory.
    add('minute.wav', wav(minute, 8000, 1), { seconds: [59.9, 60.1] });
    const hour = new Float64Array(8000 * 3600);
    for (let i = 0; i < hour.length; i++) hour[i] = minute[i % minute.length];
    add('one-hour.wav', wav(hour, 8000, 1), { seconds: [3599, 3601], like: ['minute.wav', 0.98] }, { long: true });
  }
  return list;
}

/** Whether an error's `code` is the one a case expects (`a|b`: either). */
export const codeMatches = (expected, code) => typeof code === 'string' && expected.split('|').includes(code);

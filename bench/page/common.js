// Helpers shared by the browser and Node inference benchmarks.

/** Median, min and max of `runs` timings of `f`, in ms, after one warm-up call. */
export function timeMs(runs, f) {
  f();
  const t = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    f();
    t.push(performance.now() - start);
  }
  t.sort((a, b) => a - b);
  return { median: t[t.length >> 1], min: t[0], max: t[t.length - 1], runs };
}

/**
 * Per-call timings of several engines doing the same work (`runners`: name → async function):
 * each warmed up with `warmup` calls (V8 recompiles hot wasm functions optimised meanwhile),
 * then `rounds` rounds in which every engine in turn makes `perRound` calls timed together, so
 * that a busier moment of a shared machine falls on all of them. A batch is timed, not a call:
 * a browser's clock ticks in 0.1 ms (or coarser), a tenth of 4 ms patches would hide the 2%
 * differences we compare; a batch of 10 resolves 0.25%. Returns name → { median, min, max,
 * runs, callsPerRun }: per-call ms over the rounds (their spread is the spread between rounds).
 */
export async function interleaved(runners, { warmup = 10, rounds = 15, perRound = 10 } = {}) {
  const times = Object.fromEntries(Object.keys(runners).map((k) => [k, []]));
  for (const run of Object.values(runners)) for (let i = 0; i < warmup; i++) await run();
  for (let round = 0; round < rounds; round++) {
    for (const [name, run] of Object.entries(runners)) {
      const start = performance.now();
      for (let i = 0; i < perRound; i++) await run();
      times[name].push((performance.now() - start) / perRound);
    }
  }
  return Object.fromEntries(
    Object.entries(times).map(([name, t]) => {
      t.sort((a, b) => a - b);
      return [name, { median: t[t.length >> 1], min: t[0], max: t.at(-1), runs: t.length, callsPerRun: perRound }];
    }),
  );
}

/** Mono samples of a 16-bit PCM WAV with a 44-byte header (the fixtures are written so). */
export function wavSamples(buffer) {
  const view = new DataView(buffer);
  const n = (buffer.byteLength - 44) / 2;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = view.getInt16(44 + 2 * i, true) / 32768;
  return out;
}

/** `samples` repeated to `n` samples. */
export function repeatTo(samples, n) {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += samples.length) out.set(samples.subarray(0, Math.min(samples.length, n - i)), i);
  return out;
}

/** The first 187 frames of a frame-major log-mel (96 bands) as a band-major model patch. */
export function patchFrom(frames, bands = 96, length = 187) {
  const patch = new Float32Array(bands * length);
  for (let t = 0; t < length; t++) for (let b = 0; b < bands; b++) patch[b * length + t] = frames[t * bands + b];
  return patch;
}

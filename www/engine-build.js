// The wasm modules (scripts/build-wasm.sh): the search module every page loads first, and the
// analysis module, loaded when a visitor brings a song, in two builds.
//
// Which build of the analysis module this JS engine can run:
// 'relaxed-simd' (fused multiply-add in the model's kernels: Chromium 114+, Firefox 145+),
// 'simd128' (every engine with 128-bit wasm SIMD: Safari 16.4+, older Firefox), or null when
// wasm SIMD is missing altogether (nothing can run then). Decided by validating two tiny modules.

/** A module whose one function returns `i8x16.splat(0)`: valid wherever wasm SIMD is. */
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);
/** The same with `i8x16.relaxed_swizzle`: valid only where relaxed SIMD is. */
const RELAXED_SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 15, 1, 13, 0, 65, 1, 253, 15, 65, 2, 253, 15, 253, 128, 2, 11]);

/**
 * Where the search module is (`pkg/simsong_search_bg.wasm`: a published index and its searches,
 * nothing else). Built with 128-bit SIMD, like both analysis builds. A literal URL, for bundlers.
 */
export function searchEngineUrl() {
  return new URL('../pkg/simsong_search_bg.wasm', import.meta.url);
}

/** The files of each build of the analysis module, relative to the package's `pkg/` folder. */
export const ENGINE_FILES = { 'relaxed-simd': 'simsong_relaxed_bg.wasm', simd128: 'simsong_bg.wasm' };

/**
 * Where a build of the analysis module is. Written as literal `new URL('…', import.meta.url)` so that a store's
 * bundler (Vite, webpack, Rollup) sees both files, copies them and rewrites the addresses.
 */
export function engineUrl(build) {
  return build === 'relaxed-simd' ? new URL('../pkg/simsong_relaxed_bg.wasm', import.meta.url) : new URL('../pkg/simsong_bg.wasm', import.meta.url);
}

export function chooseEngineBuild(validate = (bytes) => WebAssembly.validate(bytes)) {
  if (validate(RELAXED_SIMD_PROBE)) return 'relaxed-simd';
  if (validate(SIMD_PROBE)) return 'simd128';
  return null;
}

/**
 * A performance mark `simsong:NAME`, for the cold-start timeline (bench/browser_bench.mjs reads
 * the page's and the worker's). Never fails: marks are only for measuring.
 */
export function mark(name) {
  try {
    performance.mark(`simsong:${name}`);
  } catch {}
}

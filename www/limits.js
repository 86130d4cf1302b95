// Numbers the page shares with the engine. The engine owns them (the Rust source named beside
// each); tests/js/limits.test.mjs fails when a copy here drifts from it.

/** The most results one search returns: the engine refuses more (`MAX_K`, src/search/mod.rs). */
export const MAX_K = 1000;

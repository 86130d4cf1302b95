// Turns bench/out/*.json into BENCHMARKS.md: machine, date, medians, min–max and ratios.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { execSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const dir = process.argv[2] || 'bench/out';
const load = (f) => JSON.parse(readFileSync(join(dir, f), 'utf8'));
const native = load('native.json');
const wasm = load('wasm-node.json');
const librosa = load('librosa.json');
const maybe = (file) => {
  try {
    return load(file);
  } catch {
    return null;
  }
};
const inference = maybe('inference.json');
const browser = maybe('browser.json');
const wasmSize = maybe('wasm-size.json');
const firstResult = maybe('first-result.json');

const sh = (cmd) => {
  try {
    return execSync(cmd, { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
};
const f = (t) => `${t.median.toFixed(2)} ms (${t.min.toFixed(2)}–${t.max.toFixed(2)})`;
const ratio = (a, b) => `${(a.median / b.median).toFixed(2)}×`;
const wasmBytes = readFileSync('pkg/simsong_bg.wasm');

const lines = [];
const out = (s = '') => lines.push(s);
out('# Benchmarks');
out();
out('Written by `npm run bench` (`scripts/bench.sh`) from the JSON in `bench/results/`; do not edit by hand.');
out('Each figure is the median of');
out('repeated runs after one warm-up, with min–max in brackets; ratios compare medians from the same run.');
out();
// The full run's date (scripts/bench.sh writes run.json); sections rerun alone since then state
// their own measurement time.
const run = maybe('run.json');
out(`- Date: ${run?.date ?? new Date().toISOString().slice(0, 10)}${run ? ' (the full run; a section that names its own time was rerun alone then)' : ''}`);
out(`- Machine: ${cpus()[0].model}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${sh('uname -sr')}`);
out(`- Toolchain: ${sh('rustc --version')}; Node ${process.version}; librosa ${librosa.librosa}`);
out(
  `- wasm: \`pkg/simsong_bg.wasm\` ${(wasmBytes.length / 2 ** 20).toFixed(1)} MiB, ${(gzipSync(wasmBytes, { level: 9 }).length / 2 ** 20).toFixed(1)} MiB gzip, the package build with \`+simd128\` (a \`+relaxed-simd\` twin for browsers that have it); single-threaded everywhere`,
);
out(`- Clip: ${native.clip_seconds} s of real music (the 6 s fixture \`real_music_a\` repeated), 16 kHz mono for the log-mel, 44.1 kHz stereo PCM for the whole analysis`);
out();
if (firstResult) {
  out("## The visitor's wait: the first result list");
  out();
  out('`bench/first-result/run.mjs` in Chromium, each run a fresh context (cold caches), median of the runs: everything');
  out('the page and its worker fetch, counted at the server (bodies as sent: scripts, wasm and model compressed as a CDN');
  out('serves them, from the copies `scripts/precompress.mjs` writes: Brotli, which Chromium asks for over HTTPS and from');
  out('127.0.0.1 alike, so in the HTTP/1.1 rows too; a plain-HTTP store would send gzip: +27 kB for "Similar", +0.7 MB for a');
  out('file; catalog parts as stored; headers not counted), on a network emulated at the server (one downlink shared by');
  out('every answer, one round trip per request and two on a new connection), over plain HTTP/1.1 (Chromium opens at most');
  out('six connections to a host) and, in the rows marked HTTP/2, over HTTP/2 with TLS 1.3 (what a CDN serves: one');
  out('connection, one round trip more to open it, every request multiplexed on it).');
  out('"Similar": the demo page opened on a shared search (`?like=ID`) until its results. File: a 30 s 44.1 kHz stereo');
  out('128 kb/s MP3 dropped on the page once the catalog is wholly in (`indexcomplete`: its codes and filters load when the page');
  out('is idle), until its results (the analyser and the model load on the drop; a song dropped sooner also waits for the');
  out('codes it probes). File, cold: the same MP3 dropped on a page just opened, as soon as the element exists, from the');
  out('navigation until its results, everything fetched meanwhile (the quantiser and the probed cells of codes included).');
  out('Targets at 600k: "Similar" ≤ 500 kB and ≤ 1.0 s on 4G, ≤ 3 s on slow 4G; a file ≤ 4 s on 4G (cold); recall@10 ≥ 0.95');
  out('unfiltered and filtered; at 2M the same figures within 1.5×.');
  out();
  out('Recall@10 is against an exact f32 scan of the one-file index (`benches/parts.rs`): "Similar" reads the track\'s');
  out('neighbour list (computed at publication from the int8 re-ranking rows), over 200 catalog tracks; a file runs on the');
  out('codes of the probed cells (ADC shortlist of 200, re-ranked with the int8 rows), over the real music of the three packages held out');
  out('of the catalog (221 queries: whole tracks and parts of them).');
  out();
  const r3 = (x) => (x == null ? '–' : x.toFixed(3));
  const cold = (p) => (p.file_cold_ms == null ? '– | –' : `${(p.file_cold_ms / 1000).toFixed(2)} s | ${(p.file_cold_bytes / 1e6).toFixed(2)} MB`);
  out('| tracks | network | "Similar": time | bytes | requests | recall@10 | file: time | bytes | recall@10 | file, cold: time | bytes |');
  out('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const size of firstResult.sizes) {
    for (const p of size.profiles) {
      const net = p.down_mbps ? `${p.name} (${p.down_mbps} Mbps, ${p.rtt_ms} ms)` : p.name;
      out(
        `| ${size.tracks.toLocaleString('en')} | ${net} | ${(p.similar_ms / 1000).toFixed(2)} s | ${(p.similar_bytes / 1e3).toFixed(0)} kB | ${p.similar_requests} | ${r3(size.similar_recall_at_10)} | ${(p.file_ms / 1000).toFixed(2)} s | ${(p.file_bytes / 1e6).toFixed(2)} MB | ${r3(size.recall_at_10)} | ${cold(p)} |`,
      );
    }
  }
  out();
  for (const size of firstResult.sizes.filter((x) => x.neighbour_lists)) {
    const l = size.neighbour_lists;
    out(
      `Neighbour lists at ${(l.tracks ?? size.tracks).toLocaleString('en')} tracks (the base publication): ${l.k} per track, ${l.megabytes.toFixed(0)} MB on the server, computed in ${l.seconds.toFixed(0)} s at publication on this machine; recall@10 ${l.recall_at_10.toFixed(3)} against an exhaustive scan of the same int8 rows (what the probing of cells costs).`,
    );
    if (size.similar_recall_at_10_filtered != null)
      out(
        `With the ${(100 * size.filter.share).toFixed(1)}% filter \`${size.filter.spec}\`: "Similar" recall@10 ${size.similar_recall_at_10_filtered.toFixed(3)}, a file's ${size.recall_at_10_filtered == null ? '–' : size.recall_at_10_filtered.toFixed(3)}.`,
      );
  }
  out();
}
if (wasmSize) {
  out('## Engine size');
  out();
  out('What a page downloads: the search module (`simsong_search_bg.wasm`, profile `wasm-search`: fat LTO, `opt-level = "z"`;');
  out('every page) and, once a visitor brings a song, one build of the analysis module (`scripts/build-wasm.sh --package`: profile `wasm-package`,');
  out('`opt-level = "z"` except tract-linalg, rustfft, realfft, rubato, the symphonia decoders and our crate; `"s"` gave 2.51 MB;');
  out('binaryen\'s `wasm-opt -Oz` was measured and left out: 11% smaller raw but 2.5% larger gzip). The decoders at `"z"`');
  out('made a 30 s MP3 60 ms slower in wasm (Node, 2026-12-01: 222 vs 160 ms for the whole analysis); at 3 they cost 22 kB gzip.');
  out('The model is loaded in its NNEF form, so the wasm has no ONNX reader. Targets: analysis module ≤ 2.5 MB gzip, search module ≤ 150 kB.');
  out();
  out('| file | raw | gzip |');
  out('|---|---|---|');
  for (const s of wasmSize.shipped) out(`| \`${s.file}\` | ${(s.bytes / 1e6).toFixed(2)} MB | ${(s.gzip_bytes / 1e6).toFixed(2)} MB |`);
  out();
  const code = wasmSize.total_bytes - wasmSize.custom_section_bytes;
  out(`Where the bytes go, by crate (function bodies of the +simd128 module before wasm-bindgen, ${(code / 1e6).toFixed(2)} MB`);
  out('without its name section; `std` includes the generic code of `core`/`alloc` instantiated by other crates):');
  out();
  out('| crate | bytes | share |');
  out('|---|---|---|');
  for (const r of wasmSize.code_and_data.slice(0, 14)) out(`| ${r.part} | ${(r.bytes / 1e3).toFixed(0)} kB | ${((100 * r.bytes) / code).toFixed(1)}% |`);
  out();
}
out('## Log-mel front end: 30 s and 3 min clips');
out();
out('Already-decoded 16 kHz mono samples → `log10(1 + 10000·S)` mel spectrogram (96 bands).');
out();
const chromium = inference?.chromium?.logmel_ms;
out('| implementation | 30 s | vs native | 3 min | vs native |');
out('|---|---|---|---|---|');
const melRow = (name, short, long) => out(`| ${name} | ${f(short)} | ${ratio(short, native.logmel_ms)} | ${f(long)} | ${ratio(long, native.logmel_long_ms)} |`);
melRow('this project, native (Rust)', native.logmel_ms, native.logmel_long_ms);
melRow('this project, wasm in Node', wasm.logmel_ms, wasm.logmel_long_ms);
if (chromium) melRow('this project, wasm in headless Chromium', chromium[30], chromium[180]);
melRow(`librosa ${librosa.librosa} (NumPy)`, librosa.logmel_ms, librosa.logmel_long_ms);
out();
out('## Embedding: one 3 s patch (batch 1, tract)');
out();
out('| model | native | wasm in Node | wasm / native |');
out('|---|---|---|---|');
for (const name of Object.keys(native.patch_ms)) {
  out(`| ${name} | ${f(native.patch_ms[name])} | ${f(wasm.patch_ms[name])} | ${ratio(wasm.patch_ms[name], native.patch_ms[name])} |`);
}
out();
out('## Whole analysis of 30 s of 44.1 kHz stereo PCM');
out();
out('Downmix, resample to 16 kHz, log-mel, patches, model on every patch, mean embedding.');
out();
out('| model | native | wasm in Node | wasm / native |');
out('|---|---|---|---|');
for (const name of Object.keys(native.analyze_ms)) {
  out(`| ${name} | ${f(native.analyze_ms[name])} | ${f(wasm.analyze_ms[name])} | ${ratio(wasm.analyze_ms[name], native.analyze_ms[name])} |`);
}
out();
out('Models: `test-untrained` is the 2 k-parameter test fixture (so its rows measure the front end);');
out('`bench-cnn-untrained` is a random-weight 0.6 M-parameter, 5-block CNN of realistic shape generated by');
out('`bench/make_bench_model.py`; `simsong` (when present) is the shipped model.');

// Indexing throughput (bench/indexing_bench.mjs) and the store-scale index (bench/parts/run.sh)
const indexing = maybe('indexing.json');
const mb = (b) => `${(b / 1e6).toFixed(1)} MB`;
const mb2 = (b) => `${(b / 1e6).toFixed(2)} MB`;
if (indexing) {
  out();
  out('## Indexing throughput (native CLI, `simsong index build`)');
  out();
  out(`Over ${indexing.source}, with \`${indexing.model}\`: decode, resample, log-mel, model (at most 128 patches per track, evenly spaced), segments.`);
  out();
  out('| threads | audio | wall time | × real time | × real time per thread |');
  out('|---|---|---|---|---|');
  for (const r of [indexing.one_thread, indexing.all_threads]) {
    out(`| ${r.threads} | ${r.audio_seconds.toFixed(0)} s | ${r.wall_seconds.toFixed(1)} s | ${r.x_realtime.toFixed(0)}× | ${(r.x_realtime / r.threads).toFixed(0)}× |`);
  }
  const perCore = indexing.one_thread.x_realtime;
  const hours = (600000 * 150) / perCore / 3600;
  out();
  out(`Embedding the store's 600,000 tracks of 2.5 min each at ${perCore.toFixed(0)}× real time per core is`);
  out(`${hours.toFixed(0)} core-hours: ${(hours / 16).toFixed(1)} h on one 16-core machine, ${(hours / 64).toFixed(1)} h on four, with`);
  out('`simsong index build --shard I/N` on each and `simsong index merge` at the end (a merged index is byte');
  out('for byte the one a single machine builds: `tests/parts.rs`). Each new model means doing it again.');
}
const distributed = maybe('distributed.json');
if (distributed) {
  const D = distributed;
  const run = (engine, workers) => D.runs.find((r) => r.engine === engine && r.workers === workers);
  out();
  out('## Indexing on a cluster (Python wheel + Dask) against the CLI');
  out();
  out(`\`bench/distributed_bench.py\` (${D.date}, ${D.machine}): ${D.source} (${D.tracks} tracks), with \`${D.model}\`.`);
  out('The job (`python -m simsong.distributed`) cuts the manifest into shares of 4 tracks, a local Dask');
  out('cluster of one-thread worker processes indexes them with the wheel, and the shards are merged; the');
  out('CLI runs `simsong index build` with `RAYON_NUM_THREADS` threads. Wall time includes the merge, not');
  out("the cluster's start (a cluster is long-lived).");
  out(`Every run wrote the same index: ${D.identical_indexes ? 'yes, byte for byte' : '**no**'}.`);
  out();
  out('| | workers / threads | audio | wall time | × real time | vs the CLI on as many cores |');
  out('|---|---|---|---|---|---|');
  for (const w of [1, 2]) {
    for (const engine of ['cli', 'dask']) {
      const r = run(engine, w);
      if (!r) continue;
      const vs = engine === 'dask' ? `${(r.x_realtime / run('cli', w).x_realtime).toFixed(2)}×` : '1×';
      out(`| ${engine === 'cli' ? '`simsong index build`' : 'Dask job'} | ${w} | ${r.audio_seconds.toFixed(0)} s | ${r.wall_seconds.toFixed(1)} s | ${r.x_realtime.toFixed(0)}× | ${vs} |`);
    }
  }
  const S = D.store;
  out();
  out(`The store's ${S.tracks.toLocaleString('en')} tracks of ${S.track_seconds / 60} min at ${S.x_realtime_per_worker.toFixed(0)}× real time per one-core worker`);
  out('(the 2-worker run, per worker), if throughput scales with workers as it did from 1 to 2 here:');
  out();
  out('| workers (cores) | wall time |');
  out('|---|---|');
  for (const [n, h] of Object.entries(S.hours_on)) out(`| ${n} | ${h.toFixed(1)} h |`);
  out();
  const pub = maybe('parts-publish-600000.json');
  if (pub) {
    out(`The merge and publishing at the end run on one machine: ${pub.wall_seconds.toFixed(0)} s for 600k tracks (codebook training`);
    out(`${pub.train_seconds.toFixed(0)} s, coding ${pub.code_seconds.toFixed(0)} s; see below), minutes against hours of analysis.`);
  }
}
const tempoSets = ['tuning', 'heldout'].map((n) => [n, maybe(`tempo-${n}.json`)]).filter(([, t]) => t);
if (tempoSets.length) {
  const pct = (x) => `${(100 * x).toFixed(0)}%`;
  out();
  out('## Tempo: `simsong tempo` beside `librosa.feature.tempo`');
  out();
  const tempoDate = tempoSets[0][1].date;
  if (tempoDate && tempoDate !== run?.date) {
    out(`The accuracy sets and their timings were measured ${tempoDate}, not in the full run; what tempo adds to an`);
    out('analysis is from the full run.');
    out();
  }
  out(`\`bench/tempo/run.sh\`: audio at known, steady tempi (log-uniform 60–180 BPM, whole numbers) from allowed sources only:`);
  out('mma grooves (Debian `mma`, drums included), music21 corpus pieces (no drums) with one steady tempo,');
  out('and click tracks, rendered with fluidsynth, 30 s each. Acc1: within 4% of the tempo; Acc2: within 4%');
  out('of it or of ×2, ×½, ×3, ×⅓. Where we say "no clear tempo" the file counts as wrong (librosa always');
  out('answers); "our best candidate" is what we would have said. Grooves and pieces are split once, by a hash');
  out('of their name, into two pools: the tuning set draws from one, the held-out set from the other. The');
  out("estimator's choices (smoothing, TPS2, prior width, folding into 50–200 BPM, the comb confidence and its");
  out('threshold, the last two also against 73 seeded draws of noise, chords and free-time playing) were made on');
  out('the tuning set; the held-out set was scored once they were fixed (Acc1 58%, Acc2 82%). Its misses then showed a bug,');
  out('a click every 1.2 s reported at twice its tempo with nothing on the off-beats; the fix (fold a slow tempo up');
  out('only onto a pulse that is there) left the tuning figures as they were. Estimator version 3 compares each mel frame');
  out('with the one 4 frames (64 ms) back, so that slow attacks (strings, choirs) count, and raises the threshold from');
  out('0.10 to 0.14 (a hard-clipped random walk reached 0.129): chosen on the tuning set and the seeded draws alone (onset');
  out('lags of 1–8 frames, `src/tempo/onset.rs`). The held-out set had been scored for version 2, so it is not untouched,');
  out("but nothing was chosen on it; the figures below are version 3's.");
  out();
  out('| set | files | ours Acc1 | ours Acc2 | answered | our best candidate Acc1 / Acc2 | librosa Acc1 | librosa Acc2 |');
  out('|---|---|---|---|---|---|---|---|');
  for (const [name, t] of tempoSets) {
    for (const [label, v] of Object.entries(t.summary)) {
      const set = label === 'all' ? `**${name}, all**` : `${name}: ${label}`;
      out(
        `| ${set} | ${v.ours.files} | ${pct(v.ours.acc1)} | ${pct(v.ours.acc2)} | ${pct(v.coverage)} | ${pct(v.ours_candidate.acc1)} / ${pct(v.ours_candidate.acc2)} | ${pct(v.librosa.acc1)} | ${pct(v.librosa.acc2)} |`,
      );
    }
  }
  out();
  for (const [name, t] of tempoSets) {
    const a = t.summary.all;
    const verdict = (k) => `${k} ${pct(a.ours[k])} vs ${pct(a.librosa[k])} (${a.ours[k] >= a.librosa[k] ? 'met' : '**missed**'})`;
    out(`- Target "ours ≥ librosa", ${name} set: ${verdict('acc1')}, ${verdict('acc2')}.`);
  }
  out('- Our misses are mostly octave errors (a doubled or halved tempo): Acc2 counts those as right.');
  const bad = maybe('tempo-bad.json');
  if (bad) {
    const kinds = Object.entries(bad.by_kind)
      .map(([k, v]) => `${k} ${v.files} (max ${v.max_confidence.toFixed(3)})`)
      .join(', ');
    out(`- Inputs that must give "no clear tempo" (\`bench/tempo/make_bad.py\`, fresh seeded draws, not those the threshold`);
    out(
      `  was chosen on): ${bad.files} files, ${bad.clear.length} with a clear tempo${bad.clear.length ? ` (**${bad.clear.map((c) => `${c.file} ${c.bpm.toFixed(0)} BPM at ${c.confidence.toFixed(3)}`).join(', ')}**)` : ''}; highest confidence ${bad.max_confidence.toFixed(3)}`,
    );
    out(`  against the threshold 0.14. By kind: ${kinds}.`);
  }
  out('- In the index: 1 byte per track in the filters part (the clear tempo in whole BPM: 0.6 MB at 600k tracks, what tempo');
  out('  filters run on) and 9 bytes per track in the metadata (BPM and confidence, fetched with the rows shown).');
  const timing = tempoSets.map(([, t]) => t.timing).find(Boolean);
  if (timing) {
    out();
    out(`Time for a ${timing.clip_seconds.toFixed(0)} s 44.1 kHz WAV (decode, resample, mel, tempo), median of 5: \`simsong tempo\``);
    out(`${(1000 * timing.ours_cli_seconds).toFixed(0)} ms (one process, one file), librosa (load at 22.05 kHz + \`feature.tempo\`) ${(1000 * timing.librosa_seconds).toFixed(0)} ms.`);
  }
  if (native.tempo_long_ms) {
    out();
    out(`What tempo adds to an analysis that computes the mel frames anyway, for ${native.long_clip_seconds.toFixed(0)} s of audio: ${f(native.tempo_long_ms)} natively`);
    out('(onset strength, tempogram and choice from the mel power frames).');
  }
  if (native.tempo_of_samples_long_ms && wasm.tempo_of_samples_long_ms) {
    const scale = wasm.tempo_of_samples_long_ms.median / native.tempo_of_samples_long_ms.median;
    out(`The wasm build exports no mel power frames to time the tempo alone on; the tempo of the samples, mel included`);
    out(`(\`tempoOfSamples\`), takes ${f(wasm.tempo_of_samples_long_ms)} in Node against ${f(native.tempo_of_samples_long_ms)} natively`);
    out(`(${scale.toFixed(2)}×). That is the most tempo can cost in the browser; at the same ratio its own part is about`);
    out(`**${(native.tempo_long_ms.median * scale).toFixed(0)} ms per ${native.long_clip_seconds.toFixed(0)} s** in wasm (the mel frames are computed for the embedding anyway).`);
  }
}
const sizes = [10000, 100000, 600000].filter((n) => existsSync(join(dir, `parts-native-${n}.json`)));
if (sizes.length) {
  const P = Object.fromEntries(
    sizes.map((n) => [
      n,
      {
        native: load(`parts-native-${n}.json`),
        faiss: maybe(`parts-faiss-${n}.json`),
        browser: maybe(`parts-browser-${n}.json`),
        publish: maybe(`parts-publish-${n}.json`),
      },
    ]),
  );
  const big = P[sizes.at(-1)];
  const N = big.native;
  const k = (n) => (n >= 1000 ? `${n / 1000}k` : String(n));
  const r3 = (x) => x.toFixed(3);
  out();
  out(`## A store-scale catalog in parts (${k(sizes.at(-1))} tracks)`);
  out();
  if (big.publish?.date) out(`Measured ${big.publish.date}${big.publish.note ? ` (${big.publish.note})` : ''}.`);
  if (big.publish?.date) out();
  out("Synthetic catalogs from `scripts/synth_catalog.py`, drawn from the shipped model's embeddings of the");
  out('allowed real music (603 tracks of 32 Debian packages and 16 segments each, `bench/synth/real-embeddings.npz`):');
  out("a song is a run of one real track's segments, half of them blended with another track of the same");
  out('package, plus noise; albums of 1 + Poisson(11) songs from one package; a quarter of the songs with');
  out('1-3 versions (15/30/60 s cut-downs, loops, alternative mixes); three packages held out of the catalog');
  out('for the dropped-file queries; store-like metadata with gaps, and a tag `use:wedding` on');
  out(`${(100 * N.filter.share).toFixed(1)}% of the tracks for the filtered searches. 8 segment rows per track (a real 2.5-min track has`);
  out('about 50: 6.8 kB per track in the segment part, fetched per hit only). Queries: catalog tracks, each');
  out(`search leaving its reference out; ${N.queries} for recall, 4 fresh browser contexts for the first search.`);
  const L = N.layout;
  out(`Published with the defaults: ${L.codeBytes} code bytes per track in ${L.centroids.toLocaleString('en')} cells (product-quantised residuals, faiss's`);
  out(`\`IndexIVFPQ\`), re-ranking blocks of ${L.rerankBlockRows} rows, ${L.metaShardTracks} tracks per metadata shard, neighbour lists of 64; a first`);
  out(`search probes ${N.dropped?.probe_cells ?? 32} cells (more until 500 eligible tracks) and re-ranks a shortlist of max(20·k, 200).`);
  out();
  out(`### What each part costs (${k(N.tracks)} tracks)`);
  out();
  out('| part | files | bytes | bytes per track | fetched |');
  out('|---|---|---|---|---|');
  const when = {
    manifest: 'first',
    quantizer: 'whole, by a search that ranks by codes (kept in Cache Storage)',
    codes: 'the cell table and the probed cells, by range; whole at idle',
    filters: 'whole, by a filtered search or at idle',
    rerank: "the shortlist's blocks, by range",
    neighbours: "the reference's list, by range",
    ids: 'the bucket of a reference id, by range',
    meta: "the hits' records, by range",
    segments: "the hits' rows, by range",
  };
  for (const name of Object.keys(when).filter((n) => N.parts[n])) {
    const p = N.parts[name];
    const size = p.bytes < 1e5 ? `${(p.bytes / 1e3).toFixed(1)} kB` : mb(p.bytes);
    out(`| ${name} | ${p.files} | ${size} | ${p.bytes_per_track ? p.bytes_per_track.toFixed(1) : (p.bytes / N.tracks).toFixed(3)} | ${when[name]} |`);
  }
  out();
  out('### Catalog bytes a fresh page fetches for its first result list (after the manifest)');
  out();
  out('Counted natively by `benches/parts.rs` (the pieces a search asks for, range pieces closer than 4 kB merged as');
  out('the worker merges them); what a whole page costs on emulated networks, engine and model included, is in');
  out('"The visitor\'s wait" above.');
  out();
  const V = (n) => maybe(`parts-native-${n}-filter10.json`);
  out('| tracks | "Similar" on a catalog track | its requests | 1% filter | ~10% filter | a dropped file | dropped, 1% filter |');
  out('|---|---|---|---|---|---|---|');
  for (const n of sizes) {
    const x = P[n].native;
    const v = V(n);
    const m = (e) => (e ? `${mb2(e.first_search_bytes.mean)} (p90 ${mb2(e.first_search_bytes.p90)})` : '–');
    out(`| ${k(n)} | ${m(x.unfiltered)} | ${x.unfiltered.first_search_requests?.mean.toFixed(1) ?? '–'} | ${m(x.filtered)} | ${m(v?.filtered)} | ${m(x.dropped)} | ${m(x.dropped_filtered)} |`);
  }
  out();
  out('### Recall@10 against an exact f32 cosine scan (target ≥ 0.95)');
  out();
  out('"First search" is what a page answers as shipped (from the neighbour list for "Similar" unfiltered, else');
  out('from the probed cells); the other columns rank every cell, as after the idle load, by shortlist length.');
  out();
  out('| tracks | queries | first search | codes alone | re-ranking 50 | re-ranking 200 (shipped) | re-ranking 400 |');
  out('|---|---|---|---|---|---|---|');
  for (const n of sizes) {
    const x = P[n].native;
    const v = V(n);
    const rows = [
      ['"Similar" on a catalog track', x.unfiltered],
      [`1% filter (\`${x.filter.spec}\`)`, x.filtered],
      [v ? `${(100 * v.filter.share).toFixed(0)}% filter (\`${v.filter.spec}\`)` : '', v?.filtered],
      ['a dropped file (held-out real music)', x.dropped],
      ['a dropped file, 1% filter', x.dropped_filtered],
    ];
    for (const [label, e] of rows) {
      if (!e) continue;
      const b = e.recall_at_10_by_shortlist;
      out(`| ${k(n)} | ${label} | **${r3(e.recall_at_10)}** | ${r3(b['10'])} | ${r3(b['50'])} | ${r3(b['200'])} | ${r3(b['400'])} |`);
    }
  }
  if (N.dropped) {
    const probes = Object.keys(N.dropped.recall_at_10_by_probes);
    out();
    out(`A dropped file's recall@10 by cells probed (${k(N.tracks)} tracks; a first search probes ${N.dropped.probe_cells}):`);
    out();
    out(`| queries | ${probes.join(' | ')} |`);
    out(`|---|${probes.map(() => '---').join('|')}|`);
    out(`| dropped files | ${probes.map((p) => r3(N.dropped.recall_at_10_by_probes[p])).join(' | ')} |`);
    out(`| dropped, 1% filter | ${probes.map((p) => r3(N.dropped_filtered.recall_at_10_by_probes[p])).join(' | ')} |`);
  }
  if (big.faiss) {
    const F = big.faiss;
    const ours = N.unfiltered.recall_at_10_by_shortlist;
    const oursF = N.filtered.recall_at_10_by_shortlist;
    out();
    out(
      `Side by side with faiss ${F.faiss} (PyPI \`faiss-cpu\`, one thread) on the same ${k(N.tracks)} vectors, catalog-track queries and filter, at the same ${L.codeBytes} code bytes per track (faiss ranks every cell unless it says otherwise):`,
    );
    out();
    out('| index | bytes per track searched | recall@10 | filtered 1% | ms per query |');
    out('|---|---|---|---|---|');
    out(
      `| **ours: codes of every cell + int8 re-ranking of 200** | ${L.codeBytes} (+ re-ranking rows of 200 fetched) | **${r3(ours['200'])}** | **${r3(oursF['200'])}** | ${N.unfiltered.top10_ms.median.toFixed(2)} (native, one thread) |`,
    );
    out(`| ours: the codes alone | ${L.codeBytes} | ${r3(ours['10'])} | ${r3(oursF['10'])} | |`);
    for (const [name, v] of Object.entries(F.variants)) {
      out(
        `| faiss ${name} | ${name.includes('refine') ? `${L.codeBytes} + 128` : L.codeBytes} | ${r3(v.unfiltered.recall_at_10)} | ${r3(v.filtered.recall_at_10)} | ${v.unfiltered.ms_per_query.toFixed(2)} |`,
      );
    }
  }
  out();
  out('### Search time and memory');
  out();
  out('| tracks | top-10 in wasm, Chromium (target ≤ 20 ms) | filtered | native | plain JS scan of f32 | engine memory (target ≤ 150 MB) |');
  out('|---|---|---|---|---|---|');
  for (const n of sizes) {
    const { native: x, browser: b } = P[n];
    out(
      `| ${k(n)} | ${b ? f(b.top10_wasm_ms) : '–'} | ${b ? f(b.top10_filtered_wasm_ms) : '–'} | ${f(x.unfiltered.top10_ms)} | ${b ? f(b.plain_js_top10_ms) : '–'} | ${b ? `${(b.engine_memory_bytes / 2 ** 20).toFixed(0)} MiB` : '–'} |`,
    );
  }
  out();
  out('"Top-10 in wasm" is the worker\'s time inside the search steps with the pieces it needs already fetched: a');
  out('"Similar" on a catalog track reads its neighbour list; filtered, ADC over the eligible codes, re-ranking the');
  out('shortlist and best segments; "plain JS scan" is a `Float32Array`');
  out('cosine scan with a top-10 buffer over as many 128-d vectors in the same page, what a store would write');
  out('without this project (it needs all embeddings downloaded: 512 bytes per track). Engine memory is the');
  out("wasm instance's memory after the searches (it never shrinks).");
  out();
  out('### Building and updating');
  out();
  out('| tracks | train the codebooks | code, compute the neighbour lists, cut into parts |');
  out('|---|---|---|');
  for (const n of sizes) {
    const p = P[n].publish;
    if (p) out(`| ${k(n)} | ${p.train_seconds.toFixed(1)} s | ${p.code_seconds.toFixed(1)} s |`);
  }
  const d = big.browser?.delta;
  if (d) {
    out();
    out(`\`simsong index add\` of ${d.added.toLocaleString('en')} tracks to the ${k(N.tracks)} index writes a delta generation coded with the existing`);
    const kb = (bytes) => `${(bytes / 1e3).toFixed(1)} kB`;
    const lists = d.neighbours_part_bytes ? `, and the neighbours part is written again whole (${mb2(d.neighbours_part_bytes)}: every list may gain a new track)` : '';
    out(`codebooks: ${mb2(d.new_parts_bytes)} of new parts (its codes and filters parts ${mb2(d.search_part_bytes)})${lists}; no other published part changes. A visitor`);
    out(`who had loaded the index before (the worker keeps parts fetched whole in the Cache Storage) fetched`);
    out(`${kb(d.returning_visit.load_bytes)} to load the updated index (the manifest: the delta's codes and filters parts follow when the page is idle), against`);
    out(
      `${kb(d.first_visit.load_bytes)} on its first visit; with its first search, ${kb(d.returning_visit.bytes)} in ${d.returning_visit.requests} requests (first visit ${kb(d.first_visit.bytes)}).`,
    );
    const r = big.browser.removal;
    if (r) {
      out(`\`simsong index remove\` of ${r.removed} tracks then writes a delta whose codes and filters parts are ${kb(r.search_part_bytes)}; the returning visitor`);
      out(`loaded the updated index with ${kb(r.returning_visit.load_bytes)}.`);
    }
  }
}

if (inference) {
  const c = inference.chromium;
  const nodeTract = inference.node.tract_wasm;
  out();
  out(`## The shipped model against onnxruntime ${inference.ort} (one 3 s patch, batch 1, one thread)`);
  out();
  if (inference.date) {
    out(`Measured ${inference.date.slice(0, 16).replace('T', ' ')} UTC, ${inference.chromium.browser ?? 'headless Chromium'}.`);
    out();
  }
  out(`onnxruntime runs the ONNX file (\`${inference.model}\`), tract its NNEF export (what the page loads: same weights); same`);
  out(`input, and the two engines' embeddings differ by at most ${inference.max_abs_diff_tract_vs_ort.toExponential(1)}. onnxruntime-web uses its wasm backend with SIMD`);
  out('and `numThreads = 1`. In Chromium tract runs the build the page loads there (relaxed SIMD); the plain-SIMD');
  out('build (browsers without relaxed SIMD, and Node 20) is shown too.');
  const ortWeb = inference.chromium.patch_ms.ort_web;
  if (ortWeb?.callsPerRun) {
    out(`In Node and in Chromium every engine runs 10 patches first (V8 recompiles hot wasm functions optimised meanwhile), then`);
    out(`${ortWeb.runs} interleaved rounds, so that a busier moment of the machine falls on all of them; each round times a batch of`);
    out(`${ortWeb.callsPerRun} patches per engine (a browser's clock ticks in 0.1 ms: a batch resolves a 2% difference, one patch would not).`);
    out('Figures are per patch, the median of the rounds, with the slowest and fastest round in brackets.');
  } else if (ortWeb?.runs > 30) {
    out(`In Node and in Chromium every engine runs 10 patches first (V8 recompiles hot wasm functions optimised meanwhile), then`);
    out(`${ortWeb.runs} timed patches each in interleaved rounds, so that a busier moment of the machine falls on all of them.`);
  }
  out();
  out('| where | this project (tract) | onnxruntime | ours / theirs |');
  out('|---|---|---|---|');
  if (c.patch_ms.tract_relaxed_simd)
    out(`| headless Chromium, wasm, relaxed SIMD | ${f(c.patch_ms.tract_relaxed_simd)} | ${f(c.patch_ms.ort_web)} (onnxruntime-web) | ${ratio(c.patch_ms.tract_relaxed_simd, c.patch_ms.ort_web)} |`);
  if (c.patch_ms.tract_simd128)
    out(`| headless Chromium, wasm, plain SIMD | ${f(c.patch_ms.tract_simd128)} | ${f(c.patch_ms.ort_web)} (onnxruntime-web) | ${ratio(c.patch_ms.tract_simd128, c.patch_ms.ort_web)} |`);
  else out(`| headless Chromium, wasm | ${f(c.patch_ms.tract)} | ${f(c.patch_ms.ort_web)} (onnxruntime-web) | ${ratio(c.patch_ms.tract, c.patch_ms.ort_web)} |`);
  out(`| Node, wasm | ${f(nodeTract)} | ${f(inference.node.ort_web_wasm)} (onnxruntime-web) | ${ratio(nodeTract, inference.node.ort_web_wasm)} |`);
  const shipped = Object.keys(native.patch_ms).find((k) => !k.includes('untrained'));
  if (shipped) {
    out(`| native | ${f(native.patch_ms[shipped])} | ${f(inference.node.ort_node_native)} (onnxruntime-node) | ${ratio(native.patch_ms[shipped], inference.node.ort_node_native)} |`);
  }
  out();
  const mp3 = c.analyze_mp3_ms;
  if (mp3 && Object.keys(mp3).length) {
    out();
    out('A whole 30 s 44.1 kHz stereo MP3 (128 kb/s) in Chromium, `analyzeFile` (decode, resample, log-mel, every patch');
    out(
      `through the model; target ≤ 100 ms): ${Object.entries(mp3)
        .map(([b, t]) => `${b.replace('_', ' ')} build ${f(t)}`)
        .join('; ')}.`,
    );
  }
  out();
  out('Natively onnxruntime is ahead: it runs these 3×3 convolutions with hand-written kernels (MLAS), tract');
  out("lowers them to im2col and its generic matrix multiplies. In wasm, tract's wider matrix kernels use fused");
  out("multiply-add under relaxed SIMD. The profile below shows where tract's time goes.");
  const profile = maybe('model-profile.json');
  if (profile) {
    out();
    out(`Where one patch's time goes in tract, natively (\`benches/model_profile.rs\`, ${profile.patch_ms_median.toFixed(2)} ms per patch):`);
    out();
    out('| operator | time per patch | share |');
    out('|---|---|---|');
    const top = profile.ops.slice(0, 5);
    for (const o of top) out(`| ${o.op} | ${o.ms.toFixed(3)} ms | ${(100 * o.share).toFixed(1)}% |`);
    const rest = profile.ops.slice(5);
    out(`| ${rest.length} others | ${rest.reduce((a, o) => a + o.ms, 0).toFixed(3)} ms | ${(100 * rest.reduce((a, o) => a + o.share, 0)).toFixed(1)}% |`);
  }
  out();
  out('What we tried, measured on this machine (2026-11-24): batching patches (natively 3.6 ms per patch at');
  out('batch 1, 5.5–6.2 ms at batch 2–16: worse); reusing one tract state across patches (no change); rewriting');
  out('the max-pools as ONNX Slice/Reshape/ReduceMax (12× slower in tract) or as strided Slice + Max (no gain');
  out('natively, 5% in wasm, within noise). What did help is the model shape: fewer multiply-adds per patch (each');
  out("model's count is in its card, `models/MODEL.md`). The remaining gap is in tract's kernels.");
}
if (browser) {
  out();
  out('## In the browser: cold start and a dropped file');
  out();
  out(`${browser.browser}, measured ${browser.date.slice(0, 16).replace('T', ' ')} UTC, ${browser.runs} fresh browser contexts each (empty caches), catalog: ${browser.catalog.source}`);
  out(`(${browser.catalog.tracks} tracks), model \`${browser.model.name}\`; input: ${browser.input.seconds} s ${browser.input.format} (${mb(browser.input.bytes)}).`);
  out();
  out('| measurement | median | min–max |');
  out('|---|---|---|');
  const row = (name, s) => out(`| ${name} | ${s.median.toFixed(0)} ms | ${s.min.toFixed(0)}–${s.max.toFixed(0)} ms |`);
  row('page load → index ready (track search works)', browser.coldStart.indexMs);
  row('page load → model ready (file search works)', browser.coldStart.modelMs);
  row('drop a 3-minute MP3 → results list', browser.dropToResultsMs);
  row('  of which analysis in the worker', browser.analysisMs);
  // A timeline row: the step's median time from the navigation, with min–max.
  const at = (name, s, of = browser.runs) =>
    s && Number.isFinite(s.median) && out(`| ${name} | ${s.median.toFixed(0)} ms (${s.min.toFixed(0)}–${s.max.toFixed(0)})${s.runs < of ? `, in ${s.runs} of ${of} runs` : ''} |`);
  const tl = browser.coldTimeline;
  if (tl) {
    out();
    out('Where the cold start goes (median ms from the navigation; resource timing and `simsong:` performance marks');
    out('of the page and the worker, in the order the steps usually end):');
    out();
    out('| step | at |');
    out('|---|---|');
    at("the page's modules loaded", tl.pageModulesLoaded);
    at('engine download and streaming compilation start (on the page)', tl.engineCompileStart);
    at('the worker running (its own clock starts)', tl.workerStarted);
    at('engine downloaded', tl.engineDownloaded ?? tl.engineCompiled);
    if (tl.engineDownloaded) at('engine compiled (on the page)', tl.engineCompiled);
    at('engine instantiated in the worker', tl.engineReadyInWorker);
    at('model reader built, while the model downloads', tl.modelReaderBuilt);
    at('model downloaded (in the worker)', tl.modelFetched);
    at('index loaded (in the worker)', tl.indexLoaded);
    at('index ready (the page has it)', tl.indexReady);
    at('model build starts (in the worker): once the index is in, or 300 ms after its bytes', tl.modelBuildStart);
    at(tl.modelBuildStart ? 'model built (in the worker)' : 'model built (in the worker): once the index is in, or 300 ms after its bytes', tl.modelBuilt);
    at('model ready (the page has it)', tl.modelReady);
  }
  const slow = browser.slowModel;
  if (slow) {
    const t = slow.timeline;
    out();
    out(`The same cold start with the model sent at ${(slow.bytesPerSecond / 1e6).toFixed(1)} MB/s (a 20 Mbit/s visitor; ${mb(slow.modelBytes)}`);
    out("uncompressed), where the worker waits for the model and builds tract's model reader meanwhile:");
    out();
    out('| step | at |');
    out('|---|---|');
    at('index ready', slow.indexMs);
    at('model reader built (in the worker)', t.modelReaderBuilt);
    at('model downloaded (in the worker)', t.modelFetched);
    at('model build starts (in the worker)', t.modelBuildStart);
    at('model built (in the worker)', t.modelBuilt);
    at('model ready (the page has it)', slow.modelMs);
  }
  const modelFile = existsSync('models/simsong.nnef.tar') ? readFileSync('models/simsong.nnef.tar') : null;
  out();
  out('| file | raw | gzip |');
  out('|---|---|---|');
  out(`| wasm engine | ${mb(wasmBytes.length)} | ${mb(gzipSync(wasmBytes, { level: 9 }).length)} |`);
  if (modelFile) out(`| model, NNEF form the page loads (\`models/simsong.nnef.tar\`) | ${mb(modelFile.length)} | ${mb(gzipSync(modelFile, { level: 9 }).length)} |`);
  const demoParts = 'demo-data/catalog/index.json';
  if (existsSync(demoParts)) {
    const m = JSON.parse(readFileSync(demoParts, 'utf8'));
    out(`| demo index: manifest (what a page loads first) + quantiser (what a file search loads first) | ${mb(statSync(demoParts).size + m.quantizer.bytes)} | |`);
  }
}
const versions = maybe('versions.json');
if (versions) {
  const pct = (x) => `${(100 * x).toFixed(1)}%`;
  const ci = (c) => `[${c[0].toFixed(3)}, ${c[1].toFixed(3)}]`;
  const { cv, shipped } = versions;
  out();
  out("## Versions: is one file's audio in another's (`simsong compare`)");
  out();
  out(`\`bench/versions/run.sh\`: ${versions.positives} pairs of a real track and an edit of it, against ${versions.negatives} hard negative pairs, from`);
  out(`${versions.packages} groups (packages; MIDI pieces for the renders): other tracks of the same game, originals and edited, and renders of`);
  out('the same MIDI excerpt with another instrument (the same notes, not the same recording). Edits are stored as Vorbis q5 unless they');
  out("are a codec of their own. A pair is a version when its score (the share of the shorter file's seconds that line up, times the");
  out("share of its spectral peaks matched) and its timbre (the mean cosine of the model's segment embeddings where the two line up)");
  out('both reach a threshold. Cross-validated: the thresholds are chosen on three package folds (no training negative called a');
  out('version, then the most recall, then the middle of what ties) and scored on the fourth; 95% intervals resample packages.');
  out('Chromaprint: `rusty-chromaprint` (preset test2, as `fpcalc`) on the same decoded 16 kHz audio, its own matcher, a pair called');
  out('a version when the segments it matches (under 10 differing bits per item) cover a share of the shorter file, the share');
  out('chosen the same way.');
  out();
  const cp = versions.chromaprint;
  out('| decision | precision | recall | false positives |');
  out('|---|---|---|---|');
  out(
    `| ours, cross-validated (per fold: ${cv.thresholds.map((t) => `score ${t.score}, timbre ${t.timbre}`).join('; ')}) | ${cv.precision.toFixed(3)} ${ci(cv.precision_ci)} | ${cv.recall.toFixed(3)} ${ci(cv.recall_ci)} | ${cv.false_positives} of ${versions.negatives} |`,
  );
  out(
    `| ours, shipped (score ≥ ${shipped.thresholds.score}, timbre ≥ ${shipped.thresholds.timbre}: the medians of the folds'; not held out) | ${shipped.precision.toFixed(3)} ${ci(shipped.precision_ci)} | ${shipped.recall.toFixed(3)} ${ci(shipped.recall_ci)} | ${shipped.false_positives} of ${versions.negatives} |`,
  );
  if (cp) {
    out(
      `| Chromaprint, cross-validated (matched share ≥ ${cp.thresholds.map((t) => t.cp_coverage).join(', ')}) | ${cp.precision.toFixed(3)} ${ci(cp.precision_ci)} | ${cp.recall.toFixed(3)} ${ci(cp.recall_ci)} | ${cp.false_positives} of ${versions.negatives} |`,
    );
  }
  const realNeg = versions.negatives - (cv.kinds['same-midi']?.pairs ?? 0);
  for (const [label, x] of [
    ['ours', versions.ours_real_negatives],
    ['Chromaprint', versions.chromaprint_real_negatives],
  ]) {
    if (x)
      out(
        `| ${label}, cross-validated without the MIDI-render negatives | ${x.precision.toFixed(3)} ${ci(x.precision_ci)} | ${x.recall.toFixed(3)} ${ci(x.recall_ci)} | ${x.false_positives} of ${realNeg} |`,
      );
  }
  out();
  out(`| kind of pair | pairs | ours: called a version (cross-validated) |${cp ? ' Chromaprint |' : ''}`);
  out(`|---|---|---|${cp ? '---|' : ''}`);
  for (const [kind, k] of Object.entries(cv.kinds)) {
    const c = cp?.kinds[kind];
    out(`| ${kind}${k.label ? '' : ' (negative)'} | ${k.pairs} | ${pct(k.called_version / k.pairs)} |${cp ? ` ${c ? pct(c.called_version / c.pairs) : '–'} |` : ''}`);
  }
  out();
  out(`One comparison (two fingerprints already made) takes ${(versions.compare_us_median / 1000).toFixed(2)} ms (median, one core).`);
  if (native.front_end_fingerprint_long_ms && native.analyze_long_ms) {
    const extra = native.front_end_fingerprint_long_ms.median - native.front_end_long_ms.median;
    out(`Fingerprinting 3 minutes of audio adds ${extra.toFixed(1)} ms to its front end (${native.front_end_long_ms.median.toFixed(1)} →`);
    out(
      `${native.front_end_fingerprint_long_ms.median.toFixed(1)} ms), ${pct(extra / native.analyze_long_ms.median)} of its whole analysis with the shipped model (${native.analyze_long_ms.median.toFixed(0)} ms; target ≤ 10%).`,
    );
  }
  if (!cp) out('Chromaprint on the same pairs was not measured in this run.');
  if (versions.chromaprint_real_negatives) {
    out('Chromaprint compares chroma (the notes): renders of one MIDI piece with another instrument match it over 90% of their length, which');
    out('forces its threshold up and costs it the cut-downs; the rows without those negatives show what it does on real tracks alone.');
  }
  const weakest = Object.entries(cv.kinds)
    .filter(([, k]) => k.label)
    .sort((a, b) => a[1].recall - b[1].recall)[0];
  out(`Targets (issue #30): precision ≥ 0.99 and recall ≥ 0.98 over all edits: ${cv.precision >= 0.99 && cv.recall >= 0.98 ? 'met' : 'not met'} here, cross-validated;`);
  out(`every kind ≥ 0.95: ${weakest[1].recall >= 0.95 ? 'met' : `not met (${weakest[0]}: ${pct(weakest[1].recall)})`}.`);
}
const audit = maybe('versions-audit.json');
if (audit) {
  const ci = (c) => (c ? `[${c[0].toFixed(3)}, ${c[1].toFixed(3)}]` : '');
  const row = (label, x) => `| ${label} | ${x.positives} / ${x.negatives} | ${x.recall.toFixed(3)} ${ci(x.recall_ci)} | ${x.precision.toFixed(3)} ${ci(x.precision_ci)} |`;
  out();
  out('### The catalog audit: versions found by `index build` itself');
  out();
  out(`Every file of the set above as one catalog (${audit.tracks} tracks, ${audit.fingerprinted} fingerprinted): \`index build\` analyses and`);
  out('fingerprints each and then audits the catalog with no pair given (each track against its 10 nearest neighbours by embedding');
  out('with cosine ≥ 0.5, verified as `compare` verifies; groups joined by links, two groups of several tracks only on two links).');
  out('A labelled pair counts as found when both files end in one group (one row on a page). "Held out" leaves out the pairs of');
  out('the source tracks the thresholds were chosen on; 95% intervals resample packages.');
  out();
  out('| pairs | versions / negatives | recall | precision |');
  out('|---|---|---|---|');
  out(row('all', audit.all));
  out(row("held out from the thresholds' tuning", audit.held_out));
  out();
  const kinds = Object.entries(audit.kinds)
    .filter(([, k]) => k.positive)
    .sort((a, b) => a[1].found - b[1].found);
  out(
    `Weakest kinds: ${kinds
      .slice(0, 3)
      .map(([name, k]) => `${name} ${(100 * k.found).toFixed(1)}%`)
      .join(', ')}; negatives grouped: ${Object.entries(audit.kinds)
      .filter(([, k]) => !k.positive)
      .map(([name, k]) => `${name} ${(100 * k.found).toFixed(1)}%`)
      .join(', ')}.`,
  );
  if (audit.candidates) {
    out(`Of the ${audit.candidates.version_pairs} version pairs, ${(100 * audit.candidates.reachable).toFixed(1)}% are candidates of each other directly (${audit.candidates.rank_over_9} lie beyond`);
    out("each other's 10 nearest neighbours: a song here has up to 17 versions, which fill the list; the group still joins most of them through a third).");
  }
  if (audit.audit_seconds != null) {
    out(
      `Time: the analysis ${audit.analysis_seconds.toFixed(0)} s for ${(audit.audio_seconds / 3600).toFixed(1)} hours of audio, the audit ${audit.audit_seconds.toFixed(1)} s (${audit.pairs_compared} pairs compared), on this machine's 2 cores.`,
    );
  }
  const scale = maybe('versions-audit-scale.json');
  if (scale) {
    out();
    out(`At store scale (\`bench/versions/audit_scale.sh\`: ${scale.tracks.toLocaleString('en')} synthetic tracks with versions of songs, each track given the fingerprint`);
    out(`of a real file of the set, a song and its versions one real track and its edits): the audit compared ${scale.pairs_compared.toLocaleString('en')} pairs in`);
    out(
      `${(scale.audit_seconds / 60).toFixed(1)} minutes (candidates ${(scale.candidate_seconds / 60).toFixed(1)}) on ${scale.threads} threads, ${scale.links.toLocaleString('en')} links in ${scale.groups.toLocaleString('en')} groups; fingerprints ${(scale.fingerprint_megabytes / 1e3).toFixed(1)} GB.`,
    );
    out('The 122 real sources are shared by 100,000 songs, so songs given the same source are identical audio and link to each');
    out('other when they are neighbours: more links, and more of the costly verified pairs, than a store would have. The time is');
    out(`linear in the tracks; verification, ${(((scale.audit_seconds - scale.candidate_seconds) * scale.threads * 1000) / scale.pairs_compared).toFixed(2)} ms of CPU per pair, spreads over cores.`);
    out(`Target ≤ 10 min: ${scale.audit_seconds <= 600 ? 'met' : 'not met'}.`);
  }
}
const hour = maybe('hour.json');
if (hour) {
  out();
  out('## Bounded resources: one hour of audio');
  out();
  out(`\`simsong embed\` on a 60-minute, 128 kb/s stereo MP3 (${mb(hour.file_bytes)}): ${hour.wall_seconds.toFixed(1)} s wall time`);
  out(`(${(hour.seconds_of_audio / hour.wall_seconds).toFixed(0)}× real time), peak resident memory ${hour.peak_rss_mb} MB for the whole process. Decoding,`);
  out('resampling and the log-mel stream; at most 128 patches are kept (evenly spaced), so memory does not grow');
  out('with the length of the input. Inputs over 3 hours are refused with a clear error.');
  const w = maybe('hour-wasm.json');
  if (w) {
    out();
    out(`The same file through the wasm build in Node: ${w.wall_seconds.toFixed(1)} s (${(w.seconds_of_audio / w.wall_seconds).toFixed(0)}× real time,`);
    out(`${(w.wall_seconds / hour.wall_seconds).toFixed(1)}× native); the engine's wasm memory ends at ${w.wasm_memory_mb.toFixed(0)} MiB (it never shrinks, so that is its`);
    out(`peak) and the Node process peaks at ${w.peak_rss_mb.toFixed(0)} MB resident, the 58 MB file included: the engine reads the`);
    out('file from JS memory in pieces instead of copying it into wasm. The page test asserts the same cap');
    out('(64 MiB of engine memory) for an hour of WAV dropped into the element (`tests/e2e/robustness.test.mjs`).');
  }
}
console.log(lines.join('\n'));

// Indexing throughput of the native CLI, in × real time: on one thread (per core) and on all
// cores, over the first tracks of the demo catalog (or the fixture audio when there is none).
// Usage: node bench/indexing_bench.mjs SIMSONG_BIN MODEL.onnx OUT_DIR   → JSON on stdout
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';

const [bin, model, outDir] = process.argv.slice(2);
const TRACKS = 24;

let manifest = join(outDir, 'indexing-manifest.csv');
let source;
if (existsSync('demo-data/catalog.csv')) {
  // The demo manifest is plain CSV written by Python's csv module; keep the header and the
  // first rows (a row never spans lines there).
  const lines = readFileSync('demo-data/catalog.csv', 'utf8').trim().split('\n');
  writeFileSync(manifest, lines.slice(0, TRACKS + 1).join('\n') + '\n');
  source = `the first ${TRACKS} tracks of the demo catalog`;
} else {
  manifest = null;
  source = 'tests/fixtures/audio';
}

function run(threads) {
  const args = ['index', 'build', '--model', model, '--out', join(outDir, `indexing-${threads}.idx`)];
  args.push(...(manifest ? ['--manifest', manifest] : ['--folder', 'tests/fixtures/audio']));
  // Exit code 2 means some files were unreadable and the rest indexed; the summary is on stderr.
  const r = spawnSync(bin, args, { env: { ...process.env, RAYON_NUM_THREADS: String(threads) }, encoding: 'utf8' });
  if (r.status !== 0 && r.status !== 2) throw new Error(`simsong exited ${r.status}: ${r.stderr}`);
  const stderr = r.stderr;
  const m = stderr.match(/analysed ([\d.]+) s of audio in ([\d.]+) s: (\d+)× real time on (\d+) threads/);
  if (!m) throw new Error(`unexpected output: ${stderr}`);
  return { audio_seconds: Number(m[1]), wall_seconds: Number(m[2]), x_realtime: Number(m[1]) / Number(m[2]), threads: Number(m[4]) };
}

const one = run(1);
const all = run(cpus().length);
console.log(JSON.stringify({ source, model, one_thread: one, all_threads: all }, null, 2));

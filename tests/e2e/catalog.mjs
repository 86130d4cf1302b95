// A small catalog for the browser tests and the browser benchmark, built from the fixture audio
// by the native CLI (CI has no demo catalog). Previews point straight at the fixture files,
// which the server publishes under tests/fixtures/.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
const AUDIO = 'tests/fixtures/audio';

// The shipped model when it exists, else the untrained fixture (the page then shows a warning).
// The CLI indexes with the ONNX file (INDEX_MODEL); the page loads its NNEF form (MODEL), as a
// store would: both are one model with one identity.
const SHIPPED = existsSync(join(ROOT, 'models/simsong.onnx'));
export const INDEX_MODEL = SHIPPED ? 'models/simsong.onnx' : 'tests/fixtures/models/test-untrained.onnx';
export const MODEL = INDEX_MODEL.replace(/\.onnx$/, '.nnef.tar');

// id, file, title, collection, tags. Titles and a tag include markup on purpose: it must show
// as text.
export const TRACKS = [
  ['menu', 'real_music_a_44k.mp3', 'Menu theme', 'Amoebax', 'game:Amoebax;format:recording;mood:upbeat'],
  ['menu-flac', 'real_music_a_44k.flac', 'Menu theme (FLAC master)', 'Amoebax', 'game:Amoebax;format:recording'],
  ['lugaru', 'real_music_b_16k.wav', 'Theme <b>bold</b>', 'Lugaru', 'game:Lugaru;format:recording;mood:calm'],
  ['chirp', 'synth_chirp_16k.wav', 'Chirp <img src=x>', 'Synth lab', 'format:synth;mood:<img src=x onerror=window.__xss=1>'],
  ['noise', 'synth_noise_16k.wav', 'Noise', 'Synth lab', 'format:synth;mood:calm'],
  ['sine', 'synth_sine440_16k.wav', 'Sine 440', 'Synth lab', ''],
  ['clicks', 'synth_clicks_16k.wav', 'Clicks', 'Synth lab', 'format:synth;mood:upbeat'],
  ['sine1k', 'synth_sine1k_48k_stereo.wav', 'Sine 1k stereo', 'Synth lab', 'format:synth'],
];

const csv = (v) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

/**
 * Builds the catalog: `dir/catalog.idx` (the one-file index) and, published from it,
 * `dir/catalog/` (manifest + parts, what pages load). Returns the manifest's path.
 */
export function buildCatalog(dir, bin = process.env.SIMSONG_BIN) {
  if (!bin) throw new Error('SIMSONG_BIN (the native simsong CLI) is needed to build the test catalog');
  mkdirSync(dir, { recursive: true });
  const manifest = join(dir, 'catalog.csv');
  const rows = TRACKS.map(([id, file, title, collection, tags]) =>
    [id, join(ROOT, AUDIO, file), title, collection, tags, 'Free Art License 1.2', `${collection} (Debian game-music fixture)`, `/${AUDIO}/${file}`].map(csv).join(','),
  );
  writeFileSync(manifest, ['id,audio,title,collection,tags,license,attribution,preview_url', ...rows].join('\n'));
  const out = join(dir, 'catalog.idx');
  execFileSync(bin, ['index', 'build', '--manifest', manifest, '--model', join(ROOT, INDEX_MODEL), '--out', out], { stdio: 'pipe' });
  execFileSync(bin, ['index', 'merge', out, '--out', join(dir, 'catalog')], { stdio: 'pipe' });
  return join(dir, 'catalog', 'index.json');
}

/**
 * A synthetic store catalog of `n` tracks (scripts/synth_catalog.py: embeddings drawn from the
 * shipped model's embeddings of the allowed real music, with versions; store-like metadata),
 * imported and published into `dir/parts/`; also keeps
 * `dir/catalog.idx`. Returns the parts folder. Needs the Python environment of
 * bench/synth/requirements.txt (installed here once) and models/simsong.onnx.
 */
export function buildSynthetic(dir, n, { seed = 1, bin = process.env.SIMSONG_BIN, neighbours = null } = {}) {
  synthesize(dir, n, seed);
  const idx = join(dir, 'catalog.idx');
  execFileSync(
    bin,
    ['index', 'import', '--model', join(ROOT, 'models/simsong.onnx'), '--embeddings', join(dir, 'embeddings.npy'), '--tracks', join(dir, 'tracks.jsonl'), '--synthetic-segments', '4', '--out', idx],
    { stdio: 'pipe' },
  );
  const lists = neighbours == null ? [] : ['--neighbours', String(neighbours)];
  execFileSync(bin, ['index', 'merge', idx, '--out', join(dir, 'parts'), ...lists], { stdio: 'pipe' });
  return join(dir, 'parts');
}

/** Only the generator's output: `dir/embeddings.npy` and `dir/tracks.jsonl`. */
export function synthesize(dir, n, seed = 1) {
  const py = execFileSync('bash', [join(ROOT, 'scripts/pyenv.sh'), join(ROOT, 'bench/synth/requirements.txt')], { stdio: ['ignore', 'pipe', 'inherit'] })
    .toString()
    .trim()
    .split('\n')
    .at(-1);
  execFileSync(py, [join(ROOT, 'scripts/synth_catalog.py'), String(n), dir, '--seed', String(seed)], { stdio: 'pipe' });
}

/**
 * Writes `dir/medley.wav`: 6 s of "Menu theme" then 6 s of "Theme <b>bold</b>" (the 16 kHz mono
 * 16-bit fixtures, both with a 44-byte header, joined sample for sample); returns its path.
 */
export function writeMedley(dir) {
  const [a, b] = ['real_music_a_16k.wav', 'real_music_b_16k.wav'].map((f) => readFileSync(join(ROOT, 'tests/fixtures/audio', f)));
  const data = Buffer.concat([a.subarray(44), b.subarray(44)]);
  const header = Buffer.from(a.subarray(0, 44));
  header.writeUInt32LE(36 + data.length, 4);
  header.writeUInt32LE(data.length, 40);
  const path = join(dir, 'medley.wav');
  writeFileSync(path, Buffer.concat([header, data]));
  return path;
}

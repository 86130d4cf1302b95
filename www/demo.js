// The demo page: load the engine in a worker, analyse a dropped or chosen file, show the result.
import { EngineClient } from './engine-client.js';
import { drawMel } from './mel-image.js';

const $ = (id) => document.getElementById(id);
const engine = new EngineClient();
let ready = false;

function status(text, isError = false) {
  $('status').textContent = text;
  $('status').classList.toggle('error', isError);
}

async function analyse(file) {
  if (!ready) return;
  status(`Analysing ${file.name}…`);
  $('result').hidden = true;
  try {
    const r = await engine.analyzeFile(file);
    $('result-title').textContent = file.name;
    const s = r.source;
    $('result-facts').textContent =
      `${r.durationSeconds.toFixed(1)} s, ${s.codec}, ${s.sample_rate_hz} Hz, ${s.channels} channel(s); ` +
      `${r.segmentStarts.length} segments analysed in ${Math.round(r.elapsedMs)} ms`;
    drawMel($('mel'), r.mel);
    const list = $('heads');
    list.replaceChildren();
    for (const head of r.heads) {
      const ranked = head.classes.map((c, i) => [c, head.probabilities[i]]).sort((a, b) => b[1] - a[1]);
      for (const [name, p] of ranked) {
        const li = document.createElement('li');
        li.textContent = `${name.replace(/_/g, ' ')}: ${(100 * p).toFixed(0)}%`;
        list.append(li);
      }
    }
    $('result').hidden = false;
    status('Done.');
  } catch (e) {
    status(`Cannot analyse ${file.name}: ${e.message}`, true);
  }
}

$('file').addEventListener('change', (e) => e.target.files[0] && analyse(e.target.files[0]));
const drop = $('drop');
drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  const file = e.dataTransfer.files[0];
  if (file) analyse(file);
});

try {
  const info = await engine.init(document.body.dataset.model);
  if (!info.model.trained) {
    const w = $('model-warning');
    w.textContent = `Model "${info.model.name}" is an untrained test fixture: the instrument ` +
      'scores and embeddings below are not meaningful yet.';
    w.hidden = false;
  }
  ready = true;
  status('Ready: drop a song.');
} catch (e) {
  status(`The analysis engine could not start: ${e.message}`, true);
}

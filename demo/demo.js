// The offline demo page: one <similar-songs> element over the demo catalog. `?model=` and
// `?index=` point it elsewhere (the browser tests use their own small catalog).
const FIXTURE_MODEL = 'tests/fixtures/models/test-untrained.nnef.tar';
const songs = document.getElementById('songs');
const params = new URLSearchParams(location.search);
for (const name of ['model', 'index', 'k', 'filter', 'track']) {
  if (params.has(name)) songs.setAttribute(name, params.get(name));
}
// A shared search: ?like=id,id&unlike=id (the shortlist's catalog tracks; songs from the
// buyer's disk are not in the URL, they never leave the computer).
if (params.has('like')) songs.setAttribute('positive', params.get('like'));
if (params.has('unlike')) songs.setAttribute('negative', params.get('unlike'));
songs.addEventListener('referenceschange', ({ detail }) => {
  const ids = (list) =>
    list
      .filter((r) => r.kind === 'track')
      .map((r) => r.id)
      .join(',');
  const url = new URL(location.href);
  url.searchParams.delete('track');
  for (const [name, list] of [
    ['like', detail.positive],
    ['unlike', detail.negative],
  ]) {
    if (ids(list)) url.searchParams.set(name, ids(list));
    else url.searchParams.delete(name);
  }
  if (url.href !== location.href) history.replaceState(null, '', url);
});

// Set the attributes before the element starts (it reads them when it is defined).
await import('../dist/similar-songs.js');

const help = document.getElementById('setup-help');
let fellBack = false;
songs.addEventListener('error', async ({ detail }) => {
  if (detail.stage === 'index') {
    help.textContent =
      `The catalog at ${songs.getAttribute('index')} could not be loaded. ` +
      'Run `npm start` in the repository: it builds the demo catalog (free game music from Debian, ' +
      'indexed once) and serves this page. Details: ' +
      detail.message;
    help.hidden = false;
  } else if (detail.stage === 'model' && !fellBack && !params.has('model')) {
    // Until the trained model ships, the demo catalog may have been indexed with the untrained
    // test model: use that one (the element then shows its "untrained" warning).
    await songs.ready;
    if (songs.indexInfo?.header?.modelName !== 'test-untrained') return;
    fellBack = true;
    songs.setAttribute('model', FIXTURE_MODEL);
  }
});

// Loaded into every test page before its own scripts (Playwright: an init script; Firefox and
// WebKit: a <script> the test server puts first in <head>, allowed by the strict CSP as it is
// same-origin). Records what the tests assert on, in the same form in every browser engine:
//   window.__events    the <similar-songs> element's events, as plain data
//   window.__csp       CSP violations
//   window.__problems  uncaught errors, unhandled rejections and console.error calls
(() => {
  if (window.__events) return;
  window.__events = [];
  window.__csp = [];
  window.__problems = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`);
  });
  window.addEventListener('error', (e) => window.__problems.push(`page error: ${e.message}`));
  window.addEventListener('unhandledrejection', (e) => window.__problems.push(`unhandled rejection: ${e.reason}`));
  const consoleError = console.error.bind(console);
  console.error = (...args) => {
    window.__problems.push(`console: ${args.map(String).join(' ')}`);
    consoleError(...args);
  };
  const brief = (type, d) => {
    if (type === 'results') {
      const r = d.reference;
      return {
        reference: r && (r.id || r.name),
        part: r?.part ?? null,
        seconds: r?.durationSeconds,
        memory: r?.engineMemoryBytes,
        tempo: r?.tempo ?? null,
        // `rows`: one id per row (a song's versions fold under its best match); `ids`: every
        // track the results name, each row's versions right after it (the ranking as it was
        // before versions folded, for the catalog's MP3 and FLAC of one recording).
        rows: d.hits.map((h) => h.id),
        versions: d.hits.map((h) => (h.versions || []).map((v) => v.id)),
        ids: d.hits.flatMap((h) => [h.id, ...(h.versions || []).map((v) => v.id)]),
        approximate: d.approximate,
        notes: d.notes,
        fetchedBytes: d.fetchedBytes,
        searchMs: d.searchMs,
        fromNeighbours: d.fromNeighbours,
      };
    }
    if (type === 'trackplay' || type === 'trackchoose') return { id: d.track.id, startSeconds: d.startSeconds };
    if (type === 'ready') return { tracks: d.tracks, complete: d.index.complete };
    if (type === 'indexcomplete') return { tracks: d.tracks, index: { complete: d.index.complete, tags: d.index.tags } };
    if (type === 'modelready') return { name: d.model.model.name, engineBuild: d.model.engineBuild };
    return d;
  };
  const types = ['ready', 'indexcomplete', 'modelready', 'results', 'error', 'trackplay', 'trackchoose', 'analysisstart', 'workerrestart', 'progress', 'referenceschange'];
  for (const type of types) {
    // The element's events are composed, so they reach the document.
    document.addEventListener(type, (e) => {
      if (e.target.localName === 'similar-songs') window.__events.push({ type, t: performance.now(), ...brief(type, e.detail) });
    });
  }
})();

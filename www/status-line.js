// The element's status line: what it is doing, as text with a progress bar and a running clock,
// or what came of it. The host element carries a `busy` attribute while work runs.

// How the status line names the stages of a file's analysis.
const STAGE_WORDS = { decode: 'decoding', analysis: 'listening' };

export class StatusLine {
  #ui;
  #host;
  #timer = 0;

  /** `ui`: the skeleton's parts (status, progress, statusText); `host`: the element. */
  constructor(ui, host) {
    this.#ui = ui;
    this.#host = host;
  }

  /**
   * Shows `text`. `kind`: 'info' | 'warn' (done, with a caveat) | 'busy' (indeterminate
   * progress and a clock counting from `since`, ms on performance.now()) | 'error'.
   */
  set(text, kind = 'info', since = performance.now()) {
    const ui = this.#ui;
    clearInterval(this.#timer);
    ui.status.dataset.kind = kind;
    ui.progress.hidden = kind !== 'busy';
    if (kind === 'busy') ui.progress.removeAttribute('value'); // indeterminate until bytes arrive
    ui.statusText.textContent = text;
    this.#host.toggleAttribute('busy', kind === 'busy');
    if (kind === 'busy') {
      const tick = () => {
        const s = (performance.now() - since) / 1000;
        ui.statusText.textContent = s >= 0.3 ? `${text} ${s.toFixed(1)} s` : text;
      };
      this.#timer = setInterval(tick, 100);
    }
  }

  /**
   * Progress of a load or a query, as a determinate bar and a percentage: bytes of catalog parts
   * arriving (`{ stage, loaded, total }`: "1.2 of 12.0 MB"), or a stage of a file's analysis
   * (`{ stage: 'decode' | 'analysis', fraction }`: "decoding 45%"). Returns the `progress`
   * event's detail: `{ stage, fraction, loaded, total }` (fraction 0–1 or null; bytes or null).
   */
  progress(text, { stage, loaded, total, fraction }, since) {
    const bytes = total > 0;
    const share = bytes ? loaded / total : fraction;
    const ui = this.#ui;
    clearInterval(this.#timer);
    ui.status.dataset.kind = 'busy';
    ui.progress.hidden = false;
    if (share == null) ui.progress.removeAttribute('value');
    else {
      ui.progress.max = 1;
      ui.progress.value = share;
    }
    const mb = (n) => (n / 1e6).toFixed(n < 1e7 ? 1 : 0);
    const s = (performance.now() - since) / 1000;
    const pct = share == null ? '' : `${Math.round(100 * share)}%`;
    const what = bytes ? (total >= 1e5 ? `${mb(loaded)} of ${mb(total)} MB` : pct) : `${STAGE_WORDS[stage] ?? stage} ${pct}`.trim();
    ui.statusText.textContent = `${text} ${what}${s >= 0.3 ? ` ${s.toFixed(1)} s` : ''}`;
    this.#host.toggleAttribute('busy', true);
    return { stage, fraction: share ?? null, loaded: bytes ? loaded : null, total: bytes ? total : null };
  }
}

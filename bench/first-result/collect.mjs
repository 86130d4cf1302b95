#!/usr/bin/env node
// Joins bench/first-result/run.mjs's output at every catalog size (OUT/first-result-N.json)
// with the index's recall@10 against an exact scan (OUT/parts-native-N.json: dropped files as
// a first search answers them (the cells it probes) and once the whole codes are in, at the
// shipped shortlist, unfiltered and with the ~1% filter; "Similar" on catalog tracks, from their
// neighbour lists, and filtered) and the lists' build figures
// (OUT/parts-publish-N.json) into the shape the issue asks for: the largest size at the top
// level, every size under `sizes`.
//
//   node bench/first-result/collect.mjs OUT > OUT/first-result.json
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const out = process.argv[2];
const sizes = readdirSync(out)
  .map((f) => /^first-result-(\d+)\.json$/.exec(f))
  .filter(Boolean)
  .map((m) => Number(m[1]))
  .sort((a, b) => a - b)
  .map((n) => {
    const run = JSON.parse(readFileSync(join(out, `first-result-${n}.json`), 'utf8'));
    const partsFile = join(out, `parts-native-${n}.json`);
    const parts = existsSync(partsFile) ? JSON.parse(readFileSync(partsFile, 'utf8')) : null;
    // A first search (a cold drop) probes PROBE_CELLS cells; once the whole codes are in (the
    // file dropped on a page that is complete) every cell is scanned.
    const first = (which) => parts?.[which]?.recall_at_10 ?? null;
    const recall = (which) => parts?.[which]?.recall_at_10_by_shortlist?.['200'] ?? null;
    const publishFile = join(out, `parts-publish-${n}.json`);
    const publish = existsSync(publishFile) ? JSON.parse(readFileSync(publishFile, 'utf8')) : null;
    // The lists of the base publication (the run's index may have a delta on top by then).
    const lists = publish?.neighbours ? { ...publish.neighbours, tracks: publish.tracks } : null;
    // Every recall is against an exact f32 scan of the one-file index. "Similar" on a catalog
    // track is answered from its neighbour list (parts.rs "unfiltered"); a dropped file and a
    // filtered search rank by codes, re-ranking the shipped shortlist (200).
    return {
      ...run,
      recall_at_10: first('dropped'),
      recall_at_10_filtered: first('dropped_filtered'),
      recall_at_10_all_cells: recall('dropped'),
      recall_at_10_all_cells_filtered: recall('dropped_filtered'),
      similar_recall_at_10: parts?.unfiltered?.recall_at_10 ?? null,
      similar_recall_at_10_filtered: parts?.filtered?.recall_at_10 ?? null,
      filter: parts?.filter ?? null,
      neighbour_lists: lists,
    };
  });
if (!sizes.length) throw new Error(`no first-result-N.json in ${out}`);
console.log(JSON.stringify({ ...sizes.at(-1), sizes }, null, 1));

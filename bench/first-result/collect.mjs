#!/usr/bin/env node
// Joins bench/first-result/run.mjs's output at every catalog size (OUT/first-result-N.json)
// with the index's recall@10 at the shipped shortlist (OUT/parts-native-N.json: what a dropped
// file or a filtered search gets) and the neighbour lists' recall@10 (OUT/parts-publish-N.json:
// what "Similar" on a catalog track gets) into the shape the issue asks for: the largest size
// at the top level, every size under `sizes`.
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
    const recall = (which) => parts?.[which]?.recall_at_10_by_shortlist?.['200'] ?? null;
    const publishFile = join(out, `parts-publish-${n}.json`);
    const lists = existsSync(publishFile) ? JSON.parse(readFileSync(publishFile, 'utf8')).neighbours : null;
    return {
      ...run,
      recall_at_10: recall('unfiltered'),
      recall_at_10_filtered: recall('filtered'),
      filter: parts?.filter ?? null,
      similar_recall_at_10: lists?.recall_at_10 ?? null,
      neighbour_lists: lists,
    };
  });
if (!sizes.length) throw new Error(`no first-result-N.json in ${out}`);
console.log(JSON.stringify({ ...sizes.at(-1), sizes }, null, 1));

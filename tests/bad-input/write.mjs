// Writes the bad-input matrix to a folder for the native test (tests/audio_matrix.rs):
// every case's bytes as a file, and `cases.json` with names and expectations.
//   node tests/bad-input/write.mjs DIR [--no-long]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cases } from './matrix.mjs';

const [dir, flag] = process.argv.slice(2);
mkdirSync(dir, { recursive: true });
const list = cases({ long: flag !== '--no-long' });
for (const c of list) writeFileSync(join(dir, c.name), c.bytes);
writeFileSync(
  join(dir, 'cases.json'),
  JSON.stringify(
    list.map(({ name, expect }) => ({ name, expect })),
    null,
    1,
  ),
);

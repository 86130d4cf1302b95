// The numbers www/limits.js copies from the engine are the engine's.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as limits from '../../www/limits.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
const rustConst = (file, name) => {
  const m = new RegExp(`pub const ${name}: \\w+ = ([\\d_]+);`).exec(readFileSync(resolve(ROOT, file), 'utf8'));
  assert.ok(m, `${name} in ${file}`);
  return Number(m[1].replaceAll('_', ''));
};

test("MAX_K is the engine's", () => {
  assert.equal(limits.MAX_K, rustConst('src/search/mod.rs', 'MAX_K'));
});

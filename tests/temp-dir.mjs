// Temporary folders for the JS tests and benchmarks that are removed when the process exits,
// however it exits: a test run writes tens of MB of catalogs and audio per suite, and leaked
// folders once filled the disk.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made = new Set();
process.once('exit', () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A new folder under the system's temp folder, named PREFIX + random, removed at exit. */
export function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.add(dir);
  return dir;
}

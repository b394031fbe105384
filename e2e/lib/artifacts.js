// Where the browser journeys leave what a person can look at: screenshots of the pages.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const E2E_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const ARTIFACTS_DIR = join(E2E_DIR, 'artifacts');

/** File-system safe name for a test, used for its screenshots. */
export function artifactName(testName) {
  const name = testName
    .normalize('NFKC')
    .replace(/[^\p{L}\p{N}._-]+/gu, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 120);
  return name || 'test';
}

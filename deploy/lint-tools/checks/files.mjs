// File discovery under deploy/: skips installed trees and build outputs.
import { readdirSync } from 'node:fs';
import path from 'node:path';

const SKIP_DIRS = new Set(['node_modules', 'target', '.git']);

export function walk(dir, accept) {
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) found.push(...walk(full, accept));
    } else if (accept(full)) {
      found.push(full);
    }
  }
  return found.sort();
}

export function rel(root, file) {
  return path.relative(root, file);
}

// The host's version: the VERSION file at the repository root is the one source.
import { readFileSync } from 'node:fs'

// src/version.ts and dist/version.js both sit one level below the root.
export const VERSION: string = readFileSync(new URL('../VERSION', import.meta.url), 'utf8').trim()

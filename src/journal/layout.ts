// Where the journal lives in DATA_DIR, and the few file-system steps that make
// its files durable: journal/journal-<n>.log segments, snapshot-<n>.snap
// snapshots (the state before segment n), *.tmp while a snapshot is written,
// and damaged files moved aside as <name>.corrupt-<timestamp>.
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync } from 'node:fs'
import { join } from 'node:path'

export const JOURNAL_SUBDIR = 'journal'
const SEGMENT = /^journal-(\d{8})\.log$/
const SNAPSHOT = /^snapshot-(\d{8})\.snap$/

export const segmentName = (n: number): string => `journal-${String(n).padStart(8, '0')}.log`
export const snapshotName = (n: number): string => `snapshot-${String(n).padStart(8, '0')}.snap`

export interface Listing {
  segments: number[]
  snapshots: number[]
  temporary: string[]
}

export function journalDir(dataDir: string): string {
  return join(dataDir, JOURNAL_SUBDIR)
}

export function ensureDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
}

export function listDir(dir: string): Listing {
  const out: Listing = { segments: [], snapshots: [], temporary: [] }
  for (const name of readdirSync(dir)) {
    const seg = SEGMENT.exec(name)
    const snap = SNAPSHOT.exec(name)
    if (seg) out.segments.push(Number(seg[1]))
    else if (snap) out.snapshots.push(Number(snap[1]))
    else if (name.endsWith('.tmp')) out.temporary.push(name)
  }
  out.segments.sort((a, b) => a - b)
  out.snapshots.sort((a, b) => a - b)
  return out
}

/** Makes a rename or a new file in `dir` durable (POSIX: the directory entry needs its own fsync). */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

/** Moves a damaged file out of the way, keeping it for inspection; returns its new name. */
export function moveAside(dir: string, name: string, now: number): string {
  const aside = `${name}.corrupt-${new Date(now).toISOString().replace(/[:.]/g, '-')}`
  renameSync(join(dir, name), join(dir, aside))
  fsyncDir(dir)
  return aside
}

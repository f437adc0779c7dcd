// Heap snapshots of the host process and their diff by constructor name.
// The host runs with --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=DIR:
// SIGUSR2 makes it write Heap.*.heapsnapshot into DIR (on its main thread,
// which stops meanwhile).
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

/** Self sizes and counts per group: an object's constructor name, `(type)` for the other kinds of node. */
export type HeapSummary = Map<string, { count: number; bytes: number }>

/** Groups the nodes of a .heapsnapshot (V8's JSON: snapshot.meta.node_fields, nodes, strings). */
export function summarizeSnapshot(json: string): HeapSummary {
  const snap = JSON.parse(json) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } }
    nodes: number[]
    strings: string[]
  }
  const fields = snap.snapshot.meta.node_fields
  const width = fields.length
  const typeAt = fields.indexOf('type')
  const nameAt = fields.indexOf('name')
  const sizeAt = fields.indexOf('self_size')
  const types = snap.snapshot.meta.node_types[0]
  const out: HeapSummary = new Map()
  const { nodes, strings } = snap
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt]!] ?? '?'
    const key = type === 'object' || type === 'native' || type === 'hidden' ? (strings[nodes[i + nameAt]!] ?? '?') : `(${type})`
    const e = out.get(key)
    const size = nodes[i + sizeAt]!
    if (e) {
      e.count++
      e.bytes += size
    } else out.set(key, { count: 1, bytes: size })
  }
  return out
}

export interface HeapGrowth {
  name: string
  count_before: number
  count_after: number
  bytes_before: number
  bytes_after: number
  delta_bytes: number
}

export interface HeapDiff {
  total_before: number
  total_after: number
  /** The largest growths. */
  top: HeapGrowth[]
  /** The largest groups at the end, for scale. */
  largest: HeapGrowth[]
}

/** Groups by growth of their self sizes, largest first; and the largest groups at the end. */
export function diffSummaries(before: HeapSummary, after: HeapSummary, top = 15): HeapDiff {
  const names = new Set([...before.keys(), ...after.keys()])
  const rows: HeapGrowth[] = []
  let totalBefore = 0
  let totalAfter = 0
  for (const name of names) {
    const b = before.get(name) ?? { count: 0, bytes: 0 }
    const a = after.get(name) ?? { count: 0, bytes: 0 }
    totalBefore += b.bytes
    totalAfter += a.bytes
    rows.push({ name, count_before: b.count, count_after: a.count, bytes_before: b.bytes, bytes_after: a.bytes, delta_bytes: a.bytes - b.bytes })
  }
  const largest = [...rows].sort((x, y) => y.bytes_after - x.bytes_after).slice(0, 5)
  rows.sort((x, y) => y.delta_bytes - x.delta_bytes)
  return { total_before: totalBefore, total_after: totalAfter, top: rows.slice(0, top), largest }
}

const snapshots = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.heapsnapshot'))

/**
 * Sends SIGUSR2 to `pid` and waits for the new snapshot file in `dir` to be
 * complete: it has appeared, `ping()` (a request the host answers on its
 * main thread) has returned, and its size has stopped changing. Returns its path.
 */
export async function takeSnapshot(pid: number, dir: string, ping: () => Promise<unknown>, timeoutMs = 300_000): Promise<string> {
  const before = new Set(snapshots(dir))
  process.kill(pid, 'SIGUSR2')
  const t0 = performance.now()
  for (;;) {
    const added = snapshots(dir).filter((f) => !before.has(f))
    if (added.length > 0) {
      const path = join(dir, added[0]!)
      await ping().catch(() => undefined)
      let size = -1
      while (statSync(path).size !== size) {
        size = statSync(path).size
        await sleep(500)
      }
      return path
    }
    if (performance.now() - t0 > timeoutMs) throw new Error(`no heap snapshot from pid ${pid} after ${timeoutMs / 1000} s`)
    await sleep(200)
  }
}

export const summarizeFile = (path: string): HeapSummary => summarizeSnapshot(readFileSync(path, 'utf8'))

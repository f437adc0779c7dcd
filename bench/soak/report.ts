// bench:soak's numbers: the samples, the growth after the warm-up, the verdict, the text.
import type { HeapDiff, HeapGrowth } from './heap.js'

export interface Sample {
  elapsed_s: number
  rss_mib: number | null
  heap_used_mib: number | null
  sessions: number | null
  /** Sessions by status (rsh_sessions). */
  sessions_by_status: Record<string, number>
  ops: number
  errors: number
  timeouts: number
}

export const AIM_PCT = 10

const pct = (a: number | null | undefined, b: number | null | undefined): number | null => (a == null || b == null || a === 0 ? null : Math.round(((b - a) / a) * 1000) / 10)

export interface Growth {
  baseline: Sample
  last: Sample
  rss_pct: number | null
  heap_pct: number | null
}

/** The first sample at or after the warm-up against the last one; undefined with fewer than two such samples. */
export function growth(samples: readonly Sample[], warmupS: number): Growth | undefined {
  const after = samples.filter((s) => s.elapsed_s >= warmupS - 0.5)
  if (after.length < 2) return undefined
  const baseline = after[0]!
  const last = after.at(-1)!
  return { baseline, last, rss_pct: pct(baseline.rss_mib, last.rss_mib), heap_pct: pct(baseline.heap_used_mib, last.heap_used_mib) }
}

export function verdict(g: Growth | undefined, errors: number, timeouts: number): { verdict: 'pass' | 'fail'; line: string } {
  const why: string[] = []
  if (g === undefined || g.rss_pct === null) why.push('no RSS growth measured')
  else if (g.rss_pct >= AIM_PCT) why.push(`RSS grew ${g.rss_pct} % >= ${AIM_PCT} %`)
  if (errors > 0) why.push(`${errors} error${errors === 1 ? '' : 's'}`)
  if (timeouts > 0) why.push(`${timeouts} timeout${timeouts === 1 ? '' : 's'}`)
  if (why.length === 0) return { verdict: 'pass', line: `verdict: pass (RSS grew ${g!.rss_pct} % < ${AIM_PCT} % after the warm-up; 0 errors, 0 timeouts)` }
  return { verdict: 'fail', line: `verdict: fail (${why.join('; ')})` }
}

const cell = (x: number | null): string => (x === null ? '?' : x.toFixed(1))

export const SAMPLE_HEADER = ['| elapsed s | RSS MiB | heap used MiB | sessions held | ops so far | errors |', '| ---: | ---: | ---: | ---: | ---: | ---: |']

export function sampleLine(s: Sample, mark = ''): string {
  return `| ${s.elapsed_s.toFixed(0)}${mark} | ${cell(s.rss_mib)} | ${cell(s.heap_used_mib)} | ${s.sessions ?? '?'} | ${s.ops} | ${s.errors + s.timeouts} |`
}

const mib = (b: number): string => (b / 2 ** 20).toFixed(2)

const diffRow = (r: HeapGrowth): string =>
  `| ${r.name.replace(/\|/g, '\\|').slice(0, 60)} | ${r.count_before} | ${r.count_after} | ${mib(r.bytes_before)} | ${mib(r.bytes_after)} | ${r.delta_bytes >= 0 ? '+' : ''}${mib(r.delta_bytes)} |`

export function heapDiffLines(diff: HeapDiff): string[] {
  const header = ['| constructor | count before | count after | MiB before | MiB after | growth MiB |', '| --- | ---: | ---: | ---: | ---: | ---: |']
  return [
    `heap snapshot diff (self sizes by constructor, end of warm-up → end; array buffers' data included): ${mib(diff.total_before)} → ${mib(diff.total_after)} MiB`,
    '',
    `top ${diff.top.length} growths:`,
    ...header,
    ...diff.top.map(diffRow),
    '',
    'largest at the end:',
    ...header,
    ...diff.largest.map(diffRow),
  ]
}

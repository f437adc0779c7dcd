// Markdown helpers for bench:compare's tables.
import os from 'node:os'

export const int = (x: number): string => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a')
export const f1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : 'n/a')
export const f2 = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : 'n/a')
export const ratio = (x: number): string => (Number.isFinite(x) ? `${x.toFixed(2)}×` : 'n/a')

/** A markdown table; `align` per column: 'l' or 'r'. */
export function table(head: readonly string[], align: string, rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`
  const rule = head.map((_, i) => (align[i] === 'r' ? '---:' : '---'))
  return [line(head), line(rule), ...rows.map(line)].join('\n')
}

export function machine(): string {
  const cpus = os.cpus()
  return `${cpus[0]?.model ?? 'unknown cpu'}, ${cpus.length} cores, ${Math.round(os.totalmem() / 1024 ** 3)} GiB, Node ${process.version}, ${process.platform}/${process.arch}`
}

export const loadavg = (): string =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')

// A process's memory as Linux reports it (/proc/<pid>/status), for the bench tools.
import { readFileSync } from 'node:fs'

/** Fields of /proc/<pid>/status given in kB (VmRSS, VmHWM, ...), in bytes; throws if the process is gone. */
export function procStatusBytes(pid: number, ...fields: string[]): number[] {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return fields.map((field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024)
}

/** Resident set size of `pid`, bytes. */
export function rssBytes(pid: number): number {
  return procStatusBytes(pid, 'VmRSS')[0]!
}

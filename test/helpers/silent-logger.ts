// A pino logger that records every line as parsed JSON, for tests that check
// what the host logs (and what it never logs).
import type { Logger } from 'pino'
import { Writable } from 'node:stream'
import { createLogger } from '../../src/ops/logger.js'

export interface CapturedLogger {
  logger: Logger
  lines: Record<string, unknown>[]
  raw: string[]
  events(name: string): Record<string, unknown>[]
  /** The first line (already logged or still to come) with this event that matches `fields`. */
  waitFor(name: string, fields?: Record<string, unknown>, timeoutMs?: number): Promise<Record<string, unknown>>
}

export function captureLogger(level = 'debug'): CapturedLogger {
  const lines: Record<string, unknown>[] = []
  const raw: string[] = []
  const waiters = new Set<{ matches: (line: Record<string, unknown>) => boolean; resolve: (line: Record<string, unknown>) => void }>()
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue
        raw.push(line)
        const parsed = JSON.parse(line) as Record<string, unknown>
        lines.push(parsed)
        for (const w of waiters) if (w.matches(parsed)) w.resolve(parsed)
      }
      cb()
    },
  })
  // The host's own logger factory, so tests see exactly what operators get.
  const logger = createLogger(level, stream)
  const waitFor = (name: string, fields: Record<string, unknown> = {}, timeoutMs = 10_000): Promise<Record<string, unknown>> => {
    const matches = (l: Record<string, unknown>): boolean => l.event === name && Object.entries(fields).every(([k, v]) => l[k] === v)
    const logged = lines.find(matches)
    if (logged) return Promise.resolve(logged)
    return new Promise((resolve, reject) => {
      const waiter = {
        matches,
        resolve: (l: Record<string, unknown>) => {
          clearTimeout(timer)
          waiters.delete(waiter)
          resolve(l)
        },
      }
      const timer = setTimeout(() => {
        waiters.delete(waiter)
        reject(new Error(`no ${name} log line matching ${JSON.stringify(fields)} within ${timeoutMs} ms`))
      }, timeoutMs)
      waiters.add(waiter)
    })
  }
  return { logger, lines, raw, events: (name) => lines.filter((l) => l.event === name), waitFor }
}

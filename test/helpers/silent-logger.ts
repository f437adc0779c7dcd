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
}

export function captureLogger(level = 'debug'): CapturedLogger {
  const lines: Record<string, unknown>[] = []
  const raw: string[] = []
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue
        raw.push(line)
        lines.push(JSON.parse(line) as Record<string, unknown>)
      }
      cb()
    },
  })
  // The host's own logger factory, so tests see exactly what operators get.
  const logger = createLogger(level, stream)
  return { logger, lines, raw, events: (name) => lines.filter((l) => l.event === name) }
}

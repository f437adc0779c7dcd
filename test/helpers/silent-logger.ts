// A pino logger that records every line as parsed JSON, for tests that check
// what the host logs (and what it never logs), and that wait for a log line
// as the event it reports (a connection the host saw close, a session dropped).
import type { Logger } from 'pino'
import { Writable } from 'node:stream'
import { createLogger } from '../../src/ops/logger.js'

type Line = Record<string, unknown>

export interface CapturedLogger {
  logger: Logger
  lines: Line[]
  raw: string[]
  events(name: string): Line[]
  /** The first line named `name` that `match` accepts (a predicate, or fields it must equal), already written or still to come. */
  waitFor(name: string, match?: ((line: Line) => boolean) | Line, timeoutMs?: number): Promise<Line>
}

export function captureLogger(level = 'debug'): CapturedLogger {
  const lines: Line[] = []
  const raw: string[] = []
  const waiters: { accepts: (line: Line) => boolean; resolve: (line: Line) => void }[] = []
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const text of chunk.toString('utf8').split('\n')) {
        if (!text) continue
        const line = JSON.parse(text) as Line
        raw.push(text)
        lines.push(line)
        for (const w of waiters.filter((w) => w.accepts(line))) {
          waiters.splice(waiters.indexOf(w), 1)
          w.resolve(line)
        }
      }
      cb()
    },
  })
  // The host's own logger factory, so tests see exactly what operators get.
  const logger = createLogger(level, stream)
  const waitFor = (name: string, match: ((line: Line) => boolean) | Line = () => true, timeoutMs = 5000): Promise<Line> => {
    const matches = typeof match === 'function' ? match : (line: Line) => Object.entries(match).every(([k, v]) => line[k] === v)
    const accepts = (line: Line): boolean => line.event === name && matches(line)
    const found = lines.find(accepts)
    if (found) return Promise.resolve(found)
    return new Promise((resolve, reject) => {
      const waiter = { accepts, resolve: (line: Line) => (clearTimeout(timer), resolve(line)) }
      const timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(waiter), 1)
        reject(new Error(`no matching ${name} log line within ${timeoutMs} ms`))
      }, timeoutMs)
      waiters.push(waiter)
    })
  }
  return { logger, lines, raw, events: (name) => lines.filter((l) => l.event === name), waitFor }
}

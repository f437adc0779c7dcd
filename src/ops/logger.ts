// The host's pino logger: JSON lines, one stable `event` name each. Host code
// never passes secrets to it; redaction is the second line of defence, so a
// key, ciphertext, message, vector or metadata that slips into a log object
// is censored before it is written. LOG_FORMAT=pretty writes the same lines
// through pino-pretty, for a person at a terminal.
import { createRequire } from 'node:module'
import pino, { type DestinationStream, type Logger } from 'pino'
import type { PrettyOptions } from 'pino-pretty'
import { VERSION } from '../version.js'

const SECRET_FIELDS = [
  'key',
  'session_key',
  'sessionKey',
  'secret',
  'secretKey',
  'secret_key',
  'sig',
  'ciphertext',
  'plaintext',
  'content',
  'messages',
  'vector',
  'vector_b64',
  'vectors',
  'metadata',
  'filter',
  'request',
]

/** Every secret field at the top level and one or two levels down. */
export const REDACT_PATHS = [...SECRET_FIELDS, ...SECRET_FIELDS.map((f) => `*.${f}`), ...SECRET_FIELDS.map((f) => `*.*.${f}`)]

/**
 * A plain number under a secret name is a count (`messages: 12` in
 * journal.recovered), never a secret: it stays. Anything else is censored.
 */
export function censor(value: unknown): unknown {
  return typeof value === 'number' ? value : '[redacted]'
}

/** LOG_FORMAT: `json` lines (production), or `pretty` ones through pino-pretty. */
export type LogFormat = 'json' | 'pretty'

type PrettyFactory = (options: PrettyOptions) => DestinationStream

/**
 * pino-pretty as a synchronous stream in this thread (not a transport worker),
 * so the lines written just before process.exit() are not lost. It is a dev
 * dependency, missing from production installs: then a clear error.
 */
export function prettyStream(destination?: DestinationStream, load: (id: string) => unknown = createRequire(import.meta.url)): DestinationStream {
  let pretty: PrettyFactory
  try {
    pretty = load('pino-pretty') as PrettyFactory
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw err
    throw new Error(
      'LOG_FORMAT=pretty needs pino-pretty, a dev dependency that this install lacks (production installs omit dev dependencies): run `npm install --include=dev`, or use LOG_FORMAT=json',
      { cause: err },
    )
  }
  return pretty({
    destination: destination ?? 1,
    sync: true,
    translateTime: 'SYS:HH:MM:ss.l',
    // The event name leads each line; the fields every line carries are left out.
    messageFormat: '{if event}{event} {end}{msg}',
    ignore: 'pid,hostname,service,version,event',
  })
}

export function createLogger(level: string, destination?: DestinationStream, format: string = 'json'): Logger {
  if (format !== 'json' && format !== 'pretty') throw new Error(`unknown log format ${JSON.stringify(format)} (json or pretty)`)
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'rag-session-host', version: VERSION },
    redact: { paths: REDACT_PATHS, censor },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    // Our lines always name their event; lines from Fastify itself ("Server
    // listening at ...") get one too, so every line can be filtered by event.
    mixin: (merge) => ('event' in merge ? {} : { event: 'framework.log' }),
  }
  if (format === 'pretty') return pino(options, prettyStream(destination))
  return destination ? pino(options, destination) : pino(options)
}

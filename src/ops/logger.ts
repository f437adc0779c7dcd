// The host's pino logger: JSON lines, one stable `event` name each. Host code
// never passes secrets to it; redaction is the second line of defence, so a
// key, ciphertext, message, vector or metadata that slips into a log object
// is censored before it is written.
import pino, { type DestinationStream, type Logger } from 'pino'
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

export function createLogger(level: string, destination?: DestinationStream): Logger {
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
  return destination ? pino(options, destination) : pino(options)
}

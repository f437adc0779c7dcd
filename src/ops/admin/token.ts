// The admin bearer token: from ADMIN_TOKEN, or from the file ADMIN_TOKEN_FILE
// names (a mounted secret), and a check of a request's Authorization header
// that takes the same time whatever the header holds.
import { createHash, timingSafeEqual } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { ConfigError, type Config } from '../../config.js'

const TOKEN = /^[\x21-\x7e]{16,}$/

/** The configured token, or undefined when the admin API is off. Throws ConfigError for an unreadable or unfit file. */
export function adminToken(config: Config): string | undefined {
  if (config.adminToken !== undefined) return config.adminToken
  if (config.adminTokenFile === undefined) return undefined
  let text: string
  try {
    text = readFileSync(config.adminTokenFile, 'utf8')
  } catch (err) {
    throw new ConfigError(`ADMIN_TOKEN_FILE cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`)
  }
  // Secrets written with `echo` end in a newline; nothing else is forgiven.
  const token = text.replace(/\r?\n$/, '')
  if (!TOKEN.test(token)) throw new ConfigError('ADMIN_TOKEN_FILE must hold at least 16 printable characters, no spaces')
  return token
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest()

/** Checks `Authorization: Bearer <token>`. Both sides are hashed first, so the comparison is of equal lengths and constant time. */
export function bearerMatcher(token: string): (header: string | undefined) => 'ok' | 'missing' | 'wrong' {
  const expected = digest(token)
  return (header) => {
    const m = header === undefined ? null : /^Bearer +(\S+) *$/i.exec(header)
    if (!m?.[1]) return 'missing'
    return timingSafeEqual(digest(m[1]), expected) ? 'ok' : 'wrong'
  }
}

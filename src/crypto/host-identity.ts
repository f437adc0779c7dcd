// The host's long-lived X25519 identity: from HOST_SECRET_KEY, else the key
// file in the data directory, else a new key written there (mode 0600) and
// reused on every later start.
import { mkdirSync, readFileSync, writeFileSync, chmodSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { hkdfSync, type KeyObject } from 'node:crypto'
import nacl from 'tweetnacl'
import { decodeBase64, encodeBase64, KEY_BYTES } from '@rag-session-host/client/shared'
import { x25519PrivateKey } from '@rag-session-host/client/node-crypto'

export const HOST_KEY_FILE = 'host.key'

export interface HostIdentity {
  readonly publicKey: Uint8Array
  readonly publicKeyBase64: string
  /** Native key object for the X25519 agreement; the raw secret is not kept. */
  readonly privateKey: KeyObject
  /** Derived from the secret (HKDF-SHA256) for sealing the journal at rest: the same secret reads it back. */
  readonly storageKey: Uint8Array
  readonly source: 'env' | 'file' | 'generated'
}

export function identityFromSecret(secretKey: Uint8Array, source: HostIdentity['source']): HostIdentity {
  if (secretKey.length !== KEY_BYTES) throw new Error('host secret key must be 32 bytes')
  const publicKey = nacl.scalarMult.base(secretKey)
  const storageKey = new Uint8Array(hkdfSync('sha256', secretKey, new Uint8Array(0), 'rag-session-host storage root', 32))
  return { publicKey, publicKeyBase64: encodeBase64(publicKey), privateKey: x25519PrivateKey(secretKey), storageKey, source }
}

export function loadHostIdentity(opts: { secretKeyBase64: string | undefined; dataDir: string }): HostIdentity {
  if (opts.secretKeyBase64 !== undefined) {
    const secret = decodeBase64(opts.secretKeyBase64, KEY_BYTES)
    if (!secret) throw new Error('HOST_SECRET_KEY must be base64 of 32 bytes')
    return identityFromSecret(secret, 'env')
  }
  const file = join(opts.dataDir, HOST_KEY_FILE)
  if (existsSync(file)) {
    const secret = decodeBase64(readFileSync(file, 'utf8').trim(), KEY_BYTES)
    if (!secret) throw new Error(`${file} does not hold base64 of 32 bytes`)
    return identityFromSecret(secret, 'file')
  }
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 })
  const secret = nacl.randomBytes(KEY_BYTES)
  // 'wx' fails if another process created the file meanwhile, instead of overwriting its key.
  writeFileSync(file, encodeBase64(secret) + '\n', { mode: 0o600, flag: 'wx' })
  chmodSync(file, 0o600)
  return identityFromSecret(secret, 'generated')
}

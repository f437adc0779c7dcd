// WebCrypto X25519 and Ed25519 for browsers that have them (Chromium 137+,
// Firefox 130+, Safari 17+), falling back to tweetnacl for good at the first
// operation the browser refuses. WebCrypto keeps the ephemeral secret inside
// the browser's crypto and is far faster than scalar multiplication in JS.
import { encodeBase64Url } from '../shared/encoding.js'
import { boxKeyFromSharedSecret } from './hsalsa20.js'
import { naclCrypto } from './tweetnacl.js'
import { syncInitCrypto, type Ephemeral, type InitCrypto } from './types.js'

const fallback = syncInitCrypto('tweetnacl', naclCrypto)

/** An InitCrypto on `subtle`, or on tweetnacl when `subtle` is missing or refuses these curves. */
export function webInitCrypto(subtle: SubtleCrypto | undefined = globalThis.crypto?.subtle): InitCrypto {
  let useFallback = subtle === undefined
  // Importing an Ed25519 key costs more than a signature: keep the last one.
  let signing: { secretKey: Uint8Array; key: Promise<CryptoKey> } | undefined

  async function ephemeral(web: SubtleCrypto, peer: Uint8Array): Promise<Ephemeral> {
    const pair = (await web.generateKey({ name: 'X25519' }, false, ['deriveBits'])) as CryptoKeyPair
    const publicKey = new Uint8Array(await web.exportKey('raw', pair.publicKey))
    const hostKey = await web.importKey('raw', peer as BufferSource, { name: 'X25519' }, false, [])
    const shared = new Uint8Array(await web.deriveBits({ name: 'X25519', public: hostKey }, pair.privateKey, 256))
    return { publicKey, boxKey: boxKeyFromSharedSecret(shared) }
  }

  async function sign(web: SubtleCrypto, message: Uint8Array, secretKey: Uint8Array): Promise<Uint8Array> {
    // Compared by content: callers decode the identity afresh for every init.
    if (!signing || !sameBytes(signing.secretKey, secretKey)) {
      const jwk: JsonWebKey = { kty: 'OKP', crv: 'Ed25519', d: encodeBase64Url(secretKey.subarray(0, 32)), x: encodeBase64Url(secretKey.subarray(32)) }
      signing = { secretKey: secretKey.slice(), key: web.importKey('jwk', jwk, { name: 'Ed25519' }, false, ['sign']) }
    }
    return new Uint8Array(await web.sign({ name: 'Ed25519' }, await signing.key, message as BufferSource))
  }

  return {
    get name() {
      return useFallback ? fallback.name : 'webcrypto'
    },
    async ephemeral(peer) {
      if (!useFallback && subtle) {
        try {
          return await ephemeral(subtle, peer)
        } catch {
          useFallback = true
        }
      }
      return fallback.ephemeral(peer)
    },
    async signDetached(message, secretKey) {
      if (!useFallback && subtle) {
        try {
          return await sign(subtle, message, secretKey)
        } catch {
          signing = undefined
          useFallback = true
        }
      }
      return fallback.signDetached(message, secretKey)
    },
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!
  return diff === 0
}

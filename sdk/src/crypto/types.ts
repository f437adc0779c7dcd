// The crypto an SDK client needs, as three small interfaces with one
// implementation per platform (node/, browser/, and tweetnacl everywhere).
// FrameCrypto is synchronous: the frame building blocks (frames.ts) and the
// tests that craft frames with them use it. InitCrypto may be asynchronous,
// because WebCrypto is; SessionClient uses it for its own inits. Secretbox
// seals and opens every message, so it stays synchronous like the frames.

export interface BoxKeyPair {
  publicKey: Uint8Array
  secretKey: Uint8Array
}

export interface FrameCrypto {
  /** A fresh X25519 key pair, as nacl.box.keyPair() returns. */
  generateBoxKeyPair(): BoxKeyPair
  /** nacl.box.before(peerPublicKey, ours.secretKey). */
  boxBefore(peerPublicKey: Uint8Array, ours: BoxKeyPair): Uint8Array
  /** nacl.sign.detached with tweetnacl's 64-byte secret key (seed || public key). */
  signDetached(message: Uint8Array, secretKey: Uint8Array): Uint8Array
}

/** An ephemeral X25519 key whose secret never leaves the crypto provider. */
export interface Ephemeral {
  publicKey: Uint8Array
  /** The box key (nacl.box.before) with the host's public key. */
  boxKey: Uint8Array
}

export interface InitCrypto {
  /** Which implementation runs: for logs and tests ("node", "webcrypto", "tweetnacl"). */
  readonly name: string
  ephemeral(peerPublicKey: Uint8Array): Ephemeral | Promise<Ephemeral>
  signDetached(message: Uint8Array, secretKey: Uint8Array): Uint8Array | Promise<Uint8Array>
}

/** NaCl secretbox (XSalsa20-Poly1305), byte for byte what nacl.secretbox computes. */
export interface Secretbox {
  /** Which implementation runs: for logs and tests ("sodium", "tweetnacl"). */
  readonly name: string
  /** nacl.secretbox: the 16-byte MAC, then the ciphertext. Throws on a bad key or nonce size. */
  seal(message: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array
  /** nacl.secretbox.open: the plaintext, or null when the box does not authenticate (one shorter than the MAC included). */
  open(box: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array | null
}

/** Any FrameCrypto serves as an InitCrypto. */
export function syncInitCrypto(name: string, crypto: FrameCrypto): InitCrypto {
  return {
    name,
    ephemeral(peer) {
      const pair = crypto.generateBoxKeyPair()
      const boxKey = crypto.boxBefore(peer, pair)
      pair.secretKey.fill(0)
      return { publicKey: pair.publicKey, boxKey }
    },
    signDetached: (message, secretKey) => crypto.signDetached(message, secretKey),
  }
}

// The crypto an SDK client needs, as two small interfaces with one
// implementation per platform (node/, browser/, and tweetnacl everywhere).
// FrameCrypto is synchronous: the frame building blocks (frames.ts) and the
// tests that craft frames with them use it. InitCrypto may be asynchronous,
// because WebCrypto is; SessionClient uses it for its own inits.

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

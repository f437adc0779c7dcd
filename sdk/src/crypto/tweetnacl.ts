// Pure-JavaScript crypto (tweetnacl): the reference implementation, and what
// a browser without WebCrypto X25519/Ed25519 uses.
import nacl from 'tweetnacl'
import type { FrameCrypto } from './types.js'

export const naclCrypto: FrameCrypto = {
  generateBoxKeyPair: () => nacl.box.keyPair(),
  boxBefore: (peer, ours) => nacl.box.before(peer, ours.secretKey),
  signDetached: (message, secretKey) => nacl.sign.detached(message, secretKey),
}

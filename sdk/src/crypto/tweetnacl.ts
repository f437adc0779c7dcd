// Pure-JavaScript crypto (tweetnacl): the reference implementation, what a
// browser without WebCrypto X25519/Ed25519 uses, and the secretbox wherever
// sodium-native is not loaded (browsers, or Node without it).
import nacl from 'tweetnacl'
import type { FrameCrypto, Secretbox } from './types.js'

export const naclCrypto: FrameCrypto = {
  generateBoxKeyPair: () => nacl.box.keyPair(),
  boxBefore: (peer, ours) => nacl.box.before(peer, ours.secretKey),
  signDetached: (message, secretKey) => nacl.sign.detached(message, secretKey),
}

export const naclSecretbox: Secretbox = {
  name: 'tweetnacl',
  seal: (message, nonce, key) => nacl.secretbox(message, nonce, key),
  // tweetnacl already answers null for a box shorter than the MAC.
  open: (box, nonce, key) => nacl.secretbox.open(box, nonce, key),
}

// The SDK's crypto in Node: native X25519 and Ed25519 (node:crypto).
import { boxBefore, generateBoxKeyPair, x25519PrivateKeyFromPair } from './box-key.js'
import { signDetached } from './signature.js'
import type { FrameCrypto } from '../crypto/types.js'

export const nodeCrypto: FrameCrypto = {
  generateBoxKeyPair,
  boxBefore: (peer, ours) => boxBefore(peer, x25519PrivateKeyFromPair(ours.secretKey, ours.publicKey)),
  signDetached,
}

// Native X25519 and Ed25519 through node:crypto, and secretbox through
// libsodium (sodium-native), byte for byte what tweetnacl computes and
// 20-90x faster. Node only: the SDK's Node entry uses it, and so does the
// host (`@rag-session-host/client/node-crypto`).
export { boxBefore, generateBoxKeyPair, x25519PrivateKey, x25519PrivateKeyFromPair } from './box-key.js'
export { signDetached, verifyDetached } from './signature.js'
export { loadSodiumSecretbox, sodiumSecretbox } from './sodium-secretbox.js'
export { naclSecretbox } from '../crypto/tweetnacl.js'
export type { Secretbox } from '../crypto/types.js'

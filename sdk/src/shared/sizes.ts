// Sizes of the NaCl primitives the contract uses (tweetnacl's constants, named once).
export const KEY_BYTES = 32
export const NONCE_BYTES = 24
export const MAC_BYTES = 16
export const SIGNATURE_BYTES = 64
export const SIGN_PUBLIC_KEY_BYTES = 32

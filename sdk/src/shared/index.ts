// What host and SDK must agree on, and nothing else: message shapes, error
// codes, the nonce layout, base64 and UTF-8. No Node imports, so it runs in
// browsers as it is; `@rag-session-host/client/shared` for the host.
export * from './messages.js'
export * from './error-codes.js'
export * from './encoding.js'
export * from './nonce.js'
export * from './sizes.js'
export * from './json.js'

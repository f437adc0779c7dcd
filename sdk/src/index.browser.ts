// @rag-session-host/client in browsers: the global WebSocket, WebCrypto
// (tweetnacl where the browser lacks X25519 or Ed25519), pagehide as a close.
import { installPlatform } from './platform.js'
import { browserPlatform } from './browser/platform.js'

installPlatform(browserPlatform)

export * from './api.js'

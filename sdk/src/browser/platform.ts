// Browsers: the global WebSocket, WebCrypto where it has X25519 and Ed25519
// (tweetnacl where it does not), and `pagehide` as the end of the page.
import { naclCrypto, naclSecretbox } from '../crypto/tweetnacl.js'
import { webInitCrypto } from '../crypto/webcrypto.js'
import type { Platform, WebSocketLike } from '../platform.js'

export const browserPlatform: Platform = {
  name: 'browser',
  frameCrypto: naclCrypto,
  initCrypto: webInitCrypto(),
  // WebCrypto has no XSalsa20-Poly1305.
  secretbox: naclSecretbox,
  createWebSocket: (url) => new WebSocket(url) as unknown as WebSocketLike,
  onPageHide(listener) {
    const target = globalThis as unknown as { addEventListener?: EventTarget['addEventListener']; removeEventListener?: EventTarget['removeEventListener'] }
    if (typeof target.addEventListener !== 'function') return () => undefined
    target.addEventListener('pagehide', listener)
    return () => target.removeEventListener?.('pagehide', listener)
  },
}

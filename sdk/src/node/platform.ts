// Node: the `ws` client (Node 20 has no global WebSocket) and native crypto.
import WebSocket from 'ws'
import { syncInitCrypto } from '../crypto/types.js'
import type { Platform, WebSocketLike } from '../platform.js'
import { nodeCrypto } from './crypto.js'

export const nodePlatform: Platform = {
  name: 'node',
  frameCrypto: nodeCrypto,
  initCrypto: syncInitCrypto('node', nodeCrypto),
  createWebSocket: (url) => new WebSocket(url) as unknown as WebSocketLike,
}

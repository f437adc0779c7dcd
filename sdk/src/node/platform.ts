// Node: the `ws` client (Node 20 has no global WebSocket) and native crypto.
// Its secretbox is tweetnacl's until index.node.ts swaps in sodium-native's.
import WebSocket from 'ws'
import { naclSecretbox } from '../crypto/tweetnacl.js'
import { syncInitCrypto } from '../crypto/types.js'
import type { Platform, WebSocketLike } from '../platform.js'
import { nodeCrypto } from './crypto.js'

export const nodePlatform: Platform = {
  name: 'node',
  frameCrypto: nodeCrypto,
  initCrypto: syncInitCrypto('node', nodeCrypto),
  secretbox: naclSecretbox,
  createWebSocket: (url) => new WebSocket(url) as unknown as WebSocketLike,
}

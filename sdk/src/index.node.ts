// @rag-session-host/client in Node: `ws` and native crypto.
import { installPlatform } from './platform.js'
import { nodePlatform } from './node/platform.js'

installPlatform(nodePlatform)

export * from './api.js'

// @rag-session-host/client in Node: `ws` and native crypto, and libsodium's
// secretbox when the optional sodium-native package loads.
import { installPlatform } from './platform.js'
import { nodePlatform } from './node/platform.js'
import { loadSodiumSecretbox } from './node/sodium-secretbox.js'

const sodium = loadSodiumSecretbox()
installPlatform(sodium ? { ...nodePlatform, secretbox: sodium } : nodePlatform)

export * from './api.js'

// A host in its own process for benchmarks, so client load does not share its
// event loop. Answers IPC: 'reset' and 'stats' (event-loop delay since the
// last reset, in ms), 'stop'. Configuration comes from the environment as usual;
// benches pass rate limits off and a throwaway DATA_DIR.
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { loadConfig } from '../../src/config.js'
import { createLogger } from '../../src/ops/logger.js'
import { buildServer } from '../../src/server.js'

const config = loadConfig(process.env, { port: 0 })
const server = await buildServer(config, { logger: createLogger(config.logLevel) })
const url = await server.listen()
const delay = monitorEventLoopDelay({ resolution: 1 })
delay.enable()

const ms = (ns: number): number => Math.round((ns / 1e6) * 100) / 100
process.on('message', async (msg: { cmd: string }) => {
  if (msg.cmd === 'reset') {
    delay.reset()
    process.send?.({ type: 'reset' })
  } else if (msg.cmd === 'stats') {
    process.send?.({
      type: 'stats',
      eventLoop: { p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max), mean: ms(delay.mean) },
      rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
      vectors: server.ctx.vectors.stats(),
    })
  } else if (msg.cmd === 'stop') {
    await server.close()
    process.exit(0)
  }
})
process.send?.({ type: 'ready', url, publicKey: server.ctx.identity.publicKeyBase64 })

// The transport floor's server: a bare `ws` server in its own process. Each
// text message is answered with a text message of REPLY_BYTES characters (the
// size of a real sealed search reply), so both directions carry the same bytes
// as our search round trip. Says {type: 'ready', port} over IPC.
import { WebSocketServer } from 'ws'

const replyBytes = Number(process.env.REPLY_BYTES ?? '0')
const reply = 'x'.repeat(replyBytes)
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
wss.on('connection', (ws) => {
  ws.on('message', (_data, isBinary) => {
    ws.send(isBinary ? Buffer.from(reply) : reply)
  })
})
wss.on('listening', () => {
  const addr = wss.address()
  process.send?.({ type: 'ready', port: typeof addr === 'object' && addr !== null ? addr.port : 0 })
})
process.on('SIGTERM', () => wss.close(() => process.exit(0)))

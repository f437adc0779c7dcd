// The handshake baseline's server: a tiny `ws` server in its own process that
// answers `encrypted_session_init` frames doing an init's crypto with
// tweetnacl alone, as PROTOCOL.md §2.2 asks of a host: nacl.box.open of the
// payload with the host's box key (a scalar multiplication + open), JSON of
// the payload, nacl.sign.detached.verify of the signature over the contract's
// text, then the ack's info sealed with nacl.secretbox under the session key
// (the reply our host sends). No sessions, journal, replay cache or limits:
// the crypto and framing floor. Says {type: 'ready', port, publicKey} over IPC.
import nacl from 'tweetnacl'
import { WebSocketServer, type RawData } from 'ws'
import { decodeBase64, encodeBase64, encodeUtf8, initSignatureText, randomNonce } from '@rag-session-host/client/shared'

const keys = nacl.box.keyPair()

interface InitFrame {
  id: string
  session_id: string
  eph_pub: string
  nonce: string
  ciphertext: string
}

interface Payload {
  session_key: string
  client_pub: string
  ts: number
  sig: string
}

const reject = (id: string, code: string): string => JSON.stringify({ type: 'session_init_ack', id, ok: false, error: { code, message: code } })

function answer(data: RawData): string {
  const frame = JSON.parse(data.toString()) as InitFrame
  const ephPub = decodeBase64(frame.eph_pub, 32)
  const nonce = decodeBase64(frame.nonce, 24)
  const box = decodeBase64(frame.ciphertext)
  if (!ephPub || !nonce || !box) return reject(frame.id, 'bad_request')
  const opened = nacl.box.open(box, nonce, ephPub, keys.secretKey)
  if (!opened) return reject(frame.id, 'decrypt_failed')
  const payload = JSON.parse(Buffer.from(opened).toString('utf8')) as Payload
  const sessionKey = decodeBase64(payload.session_key, 32)
  const clientPub = decodeBase64(payload.client_pub, 32)
  const sig = decodeBase64(payload.sig, 64)
  if (!sessionKey || !clientPub || !sig) return reject(frame.id, 'bad_request')
  if (Math.abs(Date.now() - payload.ts) > 300_000) return reject(frame.id, 'stale')
  if (!nacl.sign.detached.verify(encodeUtf8(initSignatureText(frame.session_id, frame.eph_pub, payload.ts)), sig, clientPub)) return reject(frame.id, 'bad_signature')
  const info = { created: false, attempt: 1, status: 'active', vectors: 0, dims: null, history: 0, history_total: 0 }
  const ackNonce = randomNonce()
  const sealed = nacl.secretbox(encodeUtf8(JSON.stringify(info)), ackNonce, sessionKey)
  return JSON.stringify({ type: 'session_init_ack', id: frame.id, ok: true, nonce: encodeBase64(ackNonce), ciphertext: encodeBase64(sealed) })
}

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
wss.on('connection', (ws) => ws.on('message', (data) => ws.send(answer(data))))
wss.on('listening', () => {
  const addr = wss.address()
  process.send?.({ type: 'ready', port: typeof addr === 'object' && addr !== null ? addr.port : 0, publicKey: encodeBase64(keys.publicKey) })
})
process.on('SIGTERM', () => wss.close(() => process.exit(0)))

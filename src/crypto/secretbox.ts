// secretbox (XSalsa20-Poly1305) for sealed messages. Small payloads are done
// inline (a few microseconds); from `offloadBytes` up they go to a worker
// thread, because tweetnacl runs at ~60 MB/s and a multi-megabyte upload
// would otherwise stall every other connection for tens of milliseconds.
import nacl from 'tweetnacl'
import { decodeBase64, encodeBase64, randomNonce, MAC_BYTES } from '@rag-session-host/client/shared'
import { WorkerRpc } from '../util/worker-rpc.js'
import type { Preopened } from './frame-preopen.js'

export type OpenResult = { ok: true; plaintext: Uint8Array } | { ok: false; reason: 'malformed' | 'failed' }
export interface Sealed {
  nonce: string
  ciphertext: string
}

/** Opens base64 `ciphertext`; 'malformed' when it is not strict base64, 'failed' when it does not authenticate. */
export function openBase64(ciphertext: string, nonce: Uint8Array, key: Uint8Array): OpenResult {
  const box = decodeBase64(ciphertext)
  if (!box) return { ok: false, reason: 'malformed' }
  if (box.length < MAC_BYTES) return { ok: false, reason: 'failed' }
  const plaintext = nacl.secretbox.open(box, nonce, key)
  return plaintext ? { ok: true, plaintext } : { ok: false, reason: 'failed' }
}

export function sealBase64(plaintext: Uint8Array, key: Uint8Array): Sealed {
  const nonce = randomNonce()
  return { nonce: encodeBase64(nonce), ciphertext: encodeBase64(nacl.secretbox(plaintext, nonce, key)) }
}

type WorkerRequest =
  | { id: number; op: 'open'; ciphertext: string; nonce: Uint8Array; key: Uint8Array }
  | { id: number; op: 'seal'; plaintext: Uint8Array; key: Uint8Array }
  | { id: number; op: 'preopen'; frame: Uint8Array; sessionId: string; key: Uint8Array }
export type WorkerReply = { id: number; open?: OpenResult; sealed?: Sealed; preopened?: Preopened; error?: string }
export type { WorkerRequest }

/**
 * Runs big seals and opens on one worker thread, in arrival order. The
 * worker is started on first use; if it dies, pending calls fail and the next
 * call starts a new one (worker-rpc.ts).
 */
export class SecretboxOffload {
  // Requests are copied to the worker, not transferred: the caller keeps its buffers.
  readonly #rpc = new WorkerRpc<WorkerRequest, WorkerReply>({ callerUrl: import.meta.url, baseName: 'secretbox-worker', name: 'secretbox' })

  constructor(readonly offloadBytes: number) {}

  async open(ciphertext: string, nonce: Uint8Array, key: Uint8Array): Promise<OpenResult> {
    // base64 length is 4/3 of the bytes: compare on the text to decide without decoding.
    if (ciphertext.length * 0.75 < this.offloadBytes) return openBase64(ciphertext, nonce, key)
    const reply = await this.#rpc.call({ op: 'open', ciphertext, nonce, key })
    if (!reply.open) throw new Error(reply.error ?? 'secretbox worker failed')
    return reply.open
  }

  async seal(plaintext: Uint8Array, key: Uint8Array): Promise<Sealed> {
    if (plaintext.length < this.offloadBytes) return sealBase64(plaintext, key)
    const reply = await this.#rpc.call({ op: 'seal', plaintext, key })
    if (!reply.sealed) throw new Error(reply.error ?? 'secretbox worker failed')
    return reply.sealed
  }

  /** preopenFrame on the worker: for frames big enough that parsing them would stall the event loop. */
  async preopen(frame: Uint8Array, sessionId: string, key: Uint8Array): Promise<Preopened> {
    const reply = await this.#rpc.call({ op: 'preopen', frame, sessionId, key })
    if (!reply.preopened) throw new Error(reply.error ?? 'secretbox worker failed')
    return reply.preopened
  }

  /** Stops the worker; calls in flight reject. A later call starts a new one. */
  close(): Promise<void> {
    return this.#rpc.close()
  }
}

// The records of the journal and of snapshots: one per kind of change to a
// session (the journal), plus the few a snapshot needs to say "this is the
// whole state". Encoded as a JSON head and, for vectors, their float32 values
// raw after it: JSON for everything small and irregular, bytes for the bulk.
import type { HistoryMessage, Role, SessionStatus } from '@rag-session-host/client/shared'
import type { Metadata } from '../vectors/types.js'

/** Retention and reclaim are the lifecycle's; `admin` and `reset` an operator's (the admin API). */
export type DropReason = 'retention' | 'reclaimed' | 'admin' | 'reset'

export type JournalRecord =
  /** `addr`: the creating client address, which MAX_SESSIONS_PER_IP counts by (absent in journals of 0.4). */
  | { t: 'created'; s: string; seq: number; owner: string; ts: number; addr?: string }
  | { t: 'attempt'; s: string; attempt: number; ts: number }
  | { t: 'message'; s: string; seq: number; attempt: number; role: Role; content: string; ts: number }
  /** An upload's accepted items as stored: unit vectors, `dims` values each, in `units`. */
  | { t: 'vectors'; s: string; replace: boolean; dims: number; ids: string[]; meta: Metadata[]; units: Float32Array; ts: number }
  | { t: 'deleted'; s: string; ids: string[]; ts: number }
  | { t: 'cleared'; s: string; ts: number }
  /** A lifecycle change that outlives a restart: ended by the client, abandoned by the sweep, resumed by an init. */
  | { t: 'status'; s: string; status: 'ended' | 'abandoned' | 'resumed'; ts: number }
  | { t: 'dropped'; s: string; reason: DropReason; ts: number }
  /** Written to find out whether the disk takes writes again; means nothing on replay. */
  | { t: 'probe'; ts: number }
  /** Only the first `records` records of segment `segment` count: a write after them failed and may have half landed. */
  | { t: 'void'; segment: number; records: number }
  // ---- snapshots only ----
  | {
      t: 'session'
      s: string
      seq: number
      owner: string
      address?: string
      createdAt: number
      attempt: number
      status: SessionStatus
      autoRecovered: boolean
      statusSince: number
      lastActiveAt: number
    }
  | { t: 'messages'; s: string; list: HistoryMessage[] }
  /** The last record of a complete snapshot: the state it holds continues in journal segment `segment`. */
  | { t: 'snapshot_end'; sessions: number; nextSeq: number; segment: number }

export type RecordType = JournalRecord['t']

/** Encodes a record as the plaintext that gets sealed. */
export function encodeRecord(r: JournalRecord): Buffer {
  if (r.t !== 'vectors') return withHead(JSON.stringify(r), 0)
  const { units, ...head } = r
  const out = withHead(JSON.stringify(head), units.byteLength)
  Buffer.from(units.buffer, units.byteOffset, units.byteLength).copy(out, out.length - units.byteLength)
  return out
}

function withHead(json: string, tailBytes: number): Buffer {
  const headBytes = Buffer.byteLength(json)
  const out = Buffer.allocUnsafe(4 + headBytes + tailBytes)
  out.writeUInt32LE(headBytes, 0)
  out.write(json, 4)
  return out
}

/** Decodes what encodeRecord made; throws on anything else (the frame around it was authenticated, so that is a bug or a foreign writer). */
export function decodeRecord(buf: Buffer): JournalRecord {
  const headBytes = buf.readUInt32LE(0)
  if (4 + headBytes > buf.length) throw new Error('record head overruns the record')
  const head = JSON.parse(buf.toString('utf8', 4, 4 + headBytes)) as JournalRecord
  if (typeof head !== 'object' || head === null || typeof head.t !== 'string') throw new Error('record has no type')
  if (head.t !== 'vectors') return head
  const tail = buf.subarray(4 + headBytes)
  if (tail.length !== head.ids.length * head.dims * 4) throw new Error('vector record has the wrong number of values')
  // A copy: the values must be 4-byte aligned and must not pin the file's buffer.
  const units = new Float32Array(tail.length / 4)
  Buffer.from(units.buffer).set(tail)
  return { ...head, units }
}

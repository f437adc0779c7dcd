// The public view of a session, as sessionInfo reports it.
import type { Operations } from '@rag-session-host/client/shared'
import type { HostSession } from './context.js'

export function sessionStatusFields(session: HostSession): Operations['sessionInfo']['response'] {
  return {
    session_id: session.id,
    status: session.status,
    attempt: session.attempt,
    created_at: session.createdAt,
    last_active_at: session.lastActiveAt,
    vectors: session.vectors.count,
    dims: session.vectors.dims,
    history: session.history.countFor(session.attempt),
    history_total: session.history.total,
    connections: session.connections.size,
    seq: session.seq,
    auto_recovered: session.autoRecovered,
    vector_bytes: session.vectors.bytes,
  }
}

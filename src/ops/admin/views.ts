// What the admin API shows: a session's metadata and counts (never its
// history, metadata or vectors) and the host's totals.
import { VERSION } from '../../version.js'
import type { HostContext, HostSession } from '../../dispatch/context.js'
import type { EventLoopMonitor } from '../event-loop.js'

export interface SessionView {
  seq: number
  session_id: string
  status: string
  attempt: number
  vectors: number
  dims: number | null
  bytes: number
  history: number
  history_total: number
  created_at: number
  last_active_at: number
  connections: number
  auto_recovered: boolean
}

/** Field by field, so nothing new on a session reaches operators unless it is added here. */
export function sessionView(s: HostSession): SessionView {
  return {
    seq: s.seq,
    session_id: s.id,
    status: s.status,
    attempt: s.attempt,
    vectors: s.vectors.count,
    dims: s.vectors.dims,
    bytes: s.vectors.bytes,
    history: s.history.countFor(s.attempt),
    history_total: s.history.total,
    created_at: s.createdAt,
    last_active_at: s.lastActiveAt,
    connections: s.connections.size,
    auto_recovered: s.autoRecovered,
  }
}

export interface StatsDeps {
  startedAt: number
  ready: () => boolean
  eventLoop: EventLoopMonitor
}

export function hostStats(ctx: HostContext, deps: StatsDeps): object {
  let historyMessages = 0
  for (const s of ctx.sessions.values()) historyMessages += s.history.total
  const byStatus = ctx.sessions.countByStatus()
  const v = ctx.vectors.stats()
  const mem = process.memoryUsage()
  return {
    version: VERSION,
    uptime_s: Math.floor((ctx.now() - deps.startedAt) / 1000),
    ready: deps.ready(),
    sessions: { total: ctx.sessions.size, capacity: ctx.config.maxSessions, by_status: byStatus },
    connections: ctx.connections.size,
    vectors: v.vectors,
    bytes: v.bytes,
    history_messages: historyMessages,
    event_loop: deps.eventLoop.snapshot(),
    memory: { rss_bytes: mem.rss, heap_used_bytes: mem.heapUsed },
    journal: { enabled: ctx.journal.enabled, healthy: ctx.journal.healthy },
  }
}

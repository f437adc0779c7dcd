// Prometheus metrics, on a registry of this host's own (several hosts can
// live in one process, as they do in tests).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

export class HostMetrics {
  readonly registry = new Registry()

  readonly connections = new Gauge({ name: 'rsh_connections', help: 'Open WebSocket connections', registers: [this.registry] })
  readonly connectionsOpened = new Counter({ name: 'rsh_connections_opened_total', help: 'WebSocket connections accepted', registers: [this.registry] })
  readonly upgradesRefused = new Counter({
    name: 'rsh_upgrades_refused_total',
    help: 'WebSocket upgrades refused by the host, by reason (origin_not_allowed, too_many_connections, too_many_connections_from_address, or why it was not ready)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  })
  readonly frames = new Counter({
    name: 'rsh_frames_total',
    help: 'Inbound frames by frame type',
    labelNames: ['type'] as const,
    registers: [this.registry],
  })
  readonly inits = new Counter({
    name: 'rsh_session_inits_total',
    help: 'Session inits by outcome (ok, or the error code)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  })
  readonly requests = new Counter({
    name: 'rsh_requests_total',
    help: 'Encrypted requests by operation and outcome (ok, or the error code)',
    labelNames: ['op', 'outcome'] as const,
    registers: [this.registry],
  })
  readonly requestSeconds = new Histogram({
    name: 'rsh_request_duration_seconds',
    help: 'Time from a request being opened (decrypted) to its reply being sent',
    labelNames: ['op'] as const,
    buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [this.registry],
  })
  readonly offloadedFrames = new Counter({
    name: 'rsh_offloaded_frames_total',
    help: 'Large inbound frames parsed and opened on the worker thread, by outcome (opened, unopened, frame, invalid, failed)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  })
  readonly envelopeErrors = new Counter({
    name: 'rsh_envelope_errors_total',
    help: 'Frames answered with a plaintext error, by code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  })

  readonly adminActions = new Counter({
    name: 'rsh_admin_actions_total',
    help: 'Admin API actions by action (end, evict, sweep, reset) and outcome (ok, or the admin error code), and requests refused for want of a valid token (action unauthorized)',
    labelNames: ['action', 'outcome'] as const,
    registers: [this.registry],
  })

  // Inbound and outbound byte limits (MAX_INFLIGHT_BYTES, MAX_OUTBOUND_BYTES, SLOW_CLIENT_MS).
  readonly inflightBytes = new Gauge({
    name: 'rsh_inflight_bytes',
    help: 'Inbound bytes read from sockets and not yet answered, partial frames included (MAX_INFLIGHT_BYTES caps it)',
    registers: [this.registry],
  })
  readonly readsPaused = new Counter({
    name: 'rsh_reads_paused_total',
    help: 'Times the host stopped reading from every socket because inbound bytes in flight reached MAX_INFLIGHT_BYTES',
    registers: [this.registry],
  })
  readonly outboundBytes = new Gauge({
    name: 'rsh_outbound_bytes',
    help: 'Reply and notice bytes handed to sockets and not yet written out, across connections',
    registers: [this.registry],
  })
  readonly outboundPaused = new Counter({
    name: 'rsh_outbound_paused_total',
    help: 'Times a connection passed MAX_OUTBOUND_BYTES of unsent bytes, so its requests were held until it read',
    registers: [this.registry],
  })
  readonly slowConsumers = new Counter({
    name: 'rsh_slow_consumers_total',
    help: 'Connections closed for staying over MAX_OUTBOUND_BYTES of unsent bytes for SLOW_CLIENT_MS',
    registers: [this.registry],
  })
  readonly slowSenders = new Counter({
    name: 'rsh_slow_senders_total',
    help: 'Connections closed for not completing a frame within SLOW_CLIENT_MS while they alone could read (host over MAX_INFLIGHT_BYTES)',
    registers: [this.registry],
  })

  readonly fsyncSeconds = new Histogram({
    name: 'rsh_journal_fsync_seconds',
    help: 'Latency of journal fsyncs (one per group-committed batch in JOURNAL_FSYNC=always)',
    buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  })
  readonly snapshotSeconds = new Histogram({
    name: 'rsh_snapshot_duration_seconds',
    help: 'Time to write a snapshot (capture to durable rename)',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  })
  readonly snapshotBytes = new Gauge({ name: 'rsh_snapshot_bytes', help: 'Size of the latest snapshot', registers: [this.registry] })
  readonly recoverySeconds = new Gauge({ name: 'rsh_recovery_seconds', help: 'Time the last start spent recovering the journal', registers: [this.registry] })

  constructor(collect: {
    journal: () => { bytes: number; segments: number; healthy: boolean }
    sessionsByStatus: () => Record<string, number>
    vectors: () => { vectors: number; bytes: number; hnswIndexes: number; building: number }
    keys: () => number
    replayCache: () => number
  }) {
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 10 })
    const sessions = new Gauge({ name: 'rsh_sessions', help: 'Sessions held, by status', labelNames: ['status'] as const, registers: [this.registry] })
    const vectors = new Gauge({ name: 'rsh_vectors', help: 'Vectors stored across sessions', registers: [this.registry] })
    const vectorBytes = new Gauge({ name: 'rsh_vector_bytes', help: 'Bytes of stored vector values', registers: [this.registry] })
    const hnsw = new Gauge({ name: 'rsh_hnsw_indexes', help: 'Sessions served by an HNSW index', registers: [this.registry] })
    const building = new Gauge({ name: 'rsh_hnsw_building', help: 'HNSW indexes being built', registers: [this.registry] })
    const keys = new Gauge({ name: 'rsh_session_keys', help: 'Session keys held for live connections', registers: [this.registry] })
    const journalBytes = new Gauge({ name: 'rsh_journal_bytes', help: 'Bytes of journal segments on disk (since the latest snapshot)', registers: [this.registry] })
    const journalSegments = new Gauge({ name: 'rsh_journal_segments', help: 'Journal segment files on disk', registers: [this.registry] })
    const journalHealthy = new Gauge({ name: 'rsh_journal_writable', help: '1 while the journal takes writes, 0 while they fail', registers: [this.registry] })
    const replay = new Gauge({ name: 'rsh_replay_cache_entries', help: 'Init ephemeral keys remembered against replay', registers: [this.registry] })
    // Gauges are sampled when scraped, so no code path has to keep them in step.
    const refresh = (): void => {
      sessions.reset()
      for (const [status, n] of Object.entries(collect.sessionsByStatus())) sessions.set({ status }, n)
      const v = collect.vectors()
      vectors.set(v.vectors)
      vectorBytes.set(v.bytes)
      hnsw.set(v.hnswIndexes)
      building.set(v.building)
      keys.set(collect.keys())
      replay.set(collect.replayCache())
      const j = collect.journal()
      journalBytes.set(j.bytes)
      journalSegments.set(j.segments)
      journalHealthy.set(j.healthy ? 1 : 0)
    }
    this.#refresh = refresh
  }

  readonly #refresh: () => void

  async render(): Promise<{ contentType: string; body: string }> {
    this.#refresh()
    return { contentType: this.registry.contentType, body: await this.registry.metrics() }
  }
}

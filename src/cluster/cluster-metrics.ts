// The cluster's metrics (docs/SCALING.md), on the host's registry: only a
// host in cluster mode has them.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

export class ClusterMetrics {
  readonly handoffs: Counter<'direction'>
  readonly takeovers: Counter
  readonly fencedWrites: Counter
  readonly lostLeases: Counter<'why'>
  readonly redisSeconds: Histogram
  readonly loadSeconds: Histogram

  constructor(registry: Registry, leasesHeld: () => number) {
    const registers = [registry]
    new Gauge({
      name: 'rsh_cluster_leases',
      help: 'Session leases this host holds',
      registers,
      collect() {
        this.set(leasesHeld())
      },
    })
    this.handoffs = new Counter({
      name: 'rsh_cluster_handoffs_total',
      help: 'Sessions handed over between live hosts: in (taken from another host), out (given to one)',
      labelNames: ['direction'] as const,
      registers,
    })
    this.takeovers = new Counter({ name: 'rsh_cluster_takeovers_total', help: 'Sessions taken over after their owner let the lease expire (died, paused, cut off)', registers })
    this.fencedWrites = new Counter({ name: 'rsh_cluster_fenced_writes_total', help: 'Journal writes Redis refused because another host owns the session now', registers })
    this.lostLeases = new Counter({
      name: 'rsh_cluster_leases_lost_total',
      help: 'Leases lost without a hand-off: taken by another host, or expired while Redis was unreachable',
      labelNames: ['why'] as const,
      registers,
    })
    this.redisSeconds = new Histogram({
      name: 'rsh_cluster_redis_seconds',
      help: 'Round trip of Redis commands',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
      registers,
    })
    this.loadSeconds = new Histogram({
      name: 'rsh_cluster_load_seconds',
      help: 'Time to load a session from Redis (snapshot and journal)',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30],
      registers,
    })
  }
}

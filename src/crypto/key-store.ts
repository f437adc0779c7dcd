// The session keys of live connections: one key per (connection, session),
// and since a connection binds one session at a time, at most one per
// connection. Rotation replaces the key and restarts the nonce counter; a
// closed connection's key is forgotten (and wiped) at once.

export interface ConnectionKey {
  readonly connectionId: string
  readonly sessionId: string
  readonly key: Uint8Array
  /** Highest counter accepted under this key; 0 means none yet (the first must be >= 1). */
  lastCounter: bigint
}

export class KeyStore {
  readonly #byConnection = new Map<string, ConnectionKey>()

  /** Installs `key` for the connection, replacing (and wiping) whatever it held. Returns the session it was bound to before, if any. */
  rotate(connectionId: string, sessionId: string, key: Uint8Array): string | undefined {
    const previous = this.forget(connectionId)
    this.#byConnection.set(connectionId, { connectionId, sessionId, key, lastCounter: 0n })
    return previous
  }

  /** The connection's current key for `sessionId`, if it holds one. */
  get(connectionId: string, sessionId: string): ConnectionKey | undefined {
    const entry = this.#byConnection.get(connectionId)
    return entry?.sessionId === sessionId ? entry : undefined
  }

  /** The connection's key, whichever session it is for. */
  entryOf(connectionId: string): ConnectionKey | undefined {
    return this.#byConnection.get(connectionId)
  }

  /** The session the connection holds a key for, if any. */
  sessionOf(connectionId: string): string | undefined {
    return this.#byConnection.get(connectionId)?.sessionId
  }

  /** True while `entry` is still the connection's key (it may rotate or close during async work). */
  isCurrent(entry: ConnectionKey): boolean {
    return this.#byConnection.get(entry.connectionId) === entry
  }

  /** Moves the counter forward; false (and no change) unless it strictly increases. */
  advance(entry: ConnectionKey, counter: bigint): boolean {
    if (counter <= entry.lastCounter) return false
    entry.lastCounter = counter
    return true
  }

  /** Drops the connection's key; returns the session it was bound to. */
  forget(connectionId: string): string | undefined {
    const entry = this.#byConnection.get(connectionId)
    if (!entry) return undefined
    entry.key.fill(0)
    this.#byConnection.delete(connectionId)
    return entry.sessionId
  }

  get size(): number {
    return this.#byConnection.size
  }
}

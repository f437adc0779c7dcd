// uploadVectors, searchVectors, deleteVectors, clearVectors: the session's
// vector index does the work; here we only log counts (never vectors, ids or metadata).
import type { Operation } from './operation.js'

export const uploadVectors: Operation = {
  changesSession: true,
  writes: true,
  handle({ host, session, request, items, log }) {
    const { batch, rejected } = session.vectors.prepareUpload(request, items)
    return {
      records: batch.ids.length > 0 || batch.replace ? [{ t: 'vectors', s: session.id, ...batch, ts: host.now() }] : [],
      apply: () => {
        const result = { ...session.vectors.applyUpload(batch), rejected }
        log.info(
          { event: 'vectors.uploaded', uploaded: result.uploaded, rejected: rejected.length, total: result.total, dims: result.dims, replace: batch.replace },
          'vectors uploaded',
        )
        return { fields: result }
      },
    }
  },
}

export const searchVectors: Operation = {
  changesSession: false,
  writes: false,
  async handle({ session, request }) {
    return { fields: await session.vectors.search(request) }
  },
}

export const deleteVectors: Operation = {
  changesSession: true,
  writes: true,
  handle({ host, session, request, log }) {
    const ids = session.vectors.prepareDelete(request)
    return {
      records: ids.length > 0 ? [{ t: 'deleted', s: session.id, ids, ts: host.now() }] : [],
      apply: () => {
        const result = session.vectors.applyDelete(ids)
        log.info({ event: 'vectors.deleted', deleted: result.deleted, total: result.total }, 'vectors deleted')
        return { fields: result }
      },
    }
  },
}

export const clearVectors: Operation = {
  changesSession: true,
  writes: true,
  handle({ host, session, log }) {
    return {
      records: session.vectors.count > 0 ? [{ t: 'cleared', s: session.id, ts: host.now() }] : [],
      apply: () => {
        const result = session.vectors.clear()
        log.info({ event: 'vectors.cleared', deleted: result.deleted }, 'vectors cleared')
        return { fields: result }
      },
    }
  },
}

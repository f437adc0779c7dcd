// uploadVectors, searchVectors, deleteVectors, clearVectors: the session's
// vector index does the work; here we only log counts (never vectors, ids or metadata).
import type { Operation } from './operation.js'

export const uploadVectors: Operation = {
  changesSession: true,
  handle({ session, request, log }) {
    const result = session.vectors.upload(request)
    log.info(
      { event: 'vectors.uploaded', uploaded: result.uploaded, rejected: result.rejected.length, total: result.total, dims: result.dims, replace: request.replace === true },
      'vectors uploaded',
    )
    return { fields: result }
  },
}

export const searchVectors: Operation = {
  changesSession: false,
  async handle({ session, request }) {
    return { fields: await session.vectors.search(request) }
  },
}

export const deleteVectors: Operation = {
  changesSession: true,
  handle({ session, request, log }) {
    const result = session.vectors.delete(request)
    log.info({ event: 'vectors.deleted', deleted: result.deleted, total: result.total }, 'vectors deleted')
    return { fields: result }
  },
}

export const clearVectors: Operation = {
  changesSession: true,
  handle({ session, log }) {
    const result = session.vectors.clear()
    log.info({ event: 'vectors.cleared', deleted: result.deleted }, 'vectors cleared')
    return { fields: result }
  },
}

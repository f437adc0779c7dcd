// Checks of request fields, each naming the field it refuses.
import { badRequest } from '../../protocol/errors.js'
import type { JsonObject } from '../../protocol/inbound.js'

/** An optional positive integer field; absent (or null) gives undefined. */
export function optionalPositiveInt(req: JsonObject, field: string): number | undefined {
  const v = req[field]
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw badRequest(`${field} must be a positive integer`)
  return v
}

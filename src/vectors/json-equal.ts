// Deep equality of JSON values, as the filter language defines it: arrays by
// position, objects by their own keys whatever the order, numbers by value.

import { isObject } from '../protocol/inbound.js'

/** A JSON object (not an array, not null): the protocol's one definition. */
export const isPlainObject = isObject

export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false
    return true
  }
  if (Array.isArray(b)) return false
  const ka = Object.keys(a)
  if (ka.length !== Object.keys(b).length) return false
  const ob = b as Record<string, unknown>
  const oa = a as Record<string, unknown>
  for (const k of ka) if (!Object.hasOwn(ob, k) || !jsonEqual(oa[k], ob[k])) return false
  return true
}

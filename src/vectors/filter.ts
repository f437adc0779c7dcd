// The metadata filter language of PROTOCOL.md §4.2, compiled once per search
// into a predicate. Compiling validates everything up front, so a malformed
// filter is a bad_request before any vector is looked at.
//
// Where PROTOCOL.md is silent (see docs/VECTORS.md):
// - a field's value that is an object whose keys all start with `$` is an
//   operator object; an object with no `$` key is a literal for deep equality;
//   mixing both kinds of key is bad_request. To match a literal object with `$`
//   keys use {"$eq": {...}}: operands of $eq/$ne/$in/$nin are always literals.
// - `{}` as a whole filter matches everything; `{"f": {}}` means f deep-equals {}.
// - a path walks plain objects only (no array indexing); `.` always splits.
import { badRequest } from '../protocol/errors.js'
import { isPlainObject, jsonEqual } from './json-equal.js'
import type { Metadata } from './types.js'

export type Predicate = (meta: Metadata) => boolean

const MAX_DEPTH = 32
const MISSING = Symbol('missing')
const COMPARISON = new Set(['$eq', '$ne', '$gt', '$gte', '$lt', '$lte', '$in', '$nin'])

export function compileFilter(filter: unknown): Predicate {
  if (!isPlainObject(filter)) throw badRequest('filter must be an object')
  return compileObject(filter, 0)
}

function compileObject(filter: Record<string, unknown>, depth: number): Predicate {
  if (depth > MAX_DEPTH) throw badRequest(`filter nests deeper than ${MAX_DEPTH}`)
  const parts: Predicate[] = []
  for (const [key, value] of Object.entries(filter)) {
    if (key === '$and' || key === '$or') parts.push(compileLogical(key, value, depth))
    else if (key.startsWith('$')) throw badRequest(`unknown filter operator ${JSON.stringify(key)}`)
    else parts.push(compileField(key.split('.'), value))
  }
  return all(parts)
}

function compileLogical(op: '$and' | '$or', value: unknown, depth: number): Predicate {
  if (!Array.isArray(value) || value.length === 0) throw badRequest(`${op} needs a non-empty array of filters`)
  const subs = value.map((f) => {
    if (!isPlainObject(f)) throw badRequest(`${op} items must be filter objects`)
    return compileObject(f, depth + 1)
  })
  if (op === '$and') return all(subs)
  return (m) => {
    for (const p of subs) if (p(m)) return true
    return false
  }
}

function compileField(path: string[], value: unknown): Predicate {
  if (!isPlainObject(value)) return onField(path, eq(value))
  const keys = Object.keys(value)
  const ops = keys.filter((k) => k.startsWith('$'))
  if (ops.length === 0) return onField(path, eq(value))
  if (ops.length !== keys.length) throw badRequest('a filter condition mixes operators with plain keys')
  return all(keys.map((op) => onField(path, compileOperator(op, value[op]))))
}

/** A test of one field's value; `MISSING` when the path does not exist. */
type Test = (v: unknown) => boolean

function compileOperator(op: string, operand: unknown): Test {
  if (!COMPARISON.has(op)) throw badRequest(`unknown filter operator ${JSON.stringify(op)}`)
  switch (op) {
    case '$eq':
      return eq(operand)
    case '$ne': {
      const e = eq(operand)
      return (v) => v === MISSING || !e(v)
    }
    case '$in':
      return member(op, operand)
    case '$nin': {
      const m = member(op, operand)
      return (v) => v === MISSING || !m(v)
    }
    default:
      return order(op, operand)
  }
}

function eq(operand: unknown): Test {
  if (typeof operand !== 'object' || operand === null) return (v) => v === operand
  return (v) => v !== MISSING && jsonEqual(v, operand)
}

/** $in: primitives through a Set, composite members by deep equality. */
function member(op: string, operand: unknown): Test {
  if (!Array.isArray(operand)) throw badRequest(`${op} needs an array`)
  const simple = new Set<unknown>()
  const composite: unknown[] = []
  for (const x of operand) {
    if (typeof x === 'object' && x !== null) composite.push(x)
    else simple.add(x)
  }
  return (v) => {
    if (v === MISSING) return false
    if (typeof v !== 'object' || v === null) return simple.has(v)
    for (const c of composite) if (jsonEqual(v, c)) return true
    return false
  }
}

/** $gt..$lte: number with number, string with string (UTF-16 code units); else no match. */
function order(op: string, operand: unknown): Test {
  const kind = typeof operand
  if (kind !== 'number' && kind !== 'string') return () => false
  const b = operand as number | string
  const same = (v: unknown): v is number | string => typeof v === kind
  switch (op) {
    case '$gt':
      return (v) => same(v) && v > b
    case '$gte':
      return (v) => same(v) && v >= b
    case '$lt':
      return (v) => same(v) && v < b
    default:
      return (v) => same(v) && v <= b
  }
}

function onField(path: string[], test: Test): Predicate {
  if (path.length === 1) {
    const key = path[0]!
    return (m) => test(Object.hasOwn(m, key) ? m[key] : MISSING)
  }
  return (m) => test(resolve(m, path))
}

function resolve(meta: Metadata, path: string[]): unknown {
  let cur: unknown = meta
  for (const seg of path) {
    if (!isPlainObject(cur) || !Object.hasOwn(cur, seg)) return MISSING
    cur = cur[seg]
  }
  return cur
}

function all(parts: Predicate[]): Predicate {
  if (parts.length === 0) return () => true
  if (parts.length === 1) return parts[0]!
  return (m) => {
    for (const p of parts) if (!p(m)) return false
    return true
  }
}

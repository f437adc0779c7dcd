// The event catalogue of docs/OPERATIONS.md ("### Event catalogue" under
// "## Logs") keeps up with the code: every log call at warn, error or fatal
// level in src/ with a literal `event: '...'` is catalogued, in a table with a
// "What to do" column, and every catalogued warn/error/fatal row says what to
// do. Events logged through a variable (a table of them, as dispatch/reject.ts
// has) are not seen here; list them by hand.
import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const SRC = join(ROOT, 'src')
const DOC = join(ROOT, 'docs', 'OPERATIONS.md')

interface LoggedEvent {
  event: string
  level: string
  where: string
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name)
    if (e.isDirectory()) return sourceFiles(path)
    return e.isFile() && e.name.endsWith('.ts') ? [path] : []
  })
}

/** The end of the object literal opening at `start` (a `{`): braces are counted outside strings and comments. */
function objectEnd(text: string, start: number): number {
  let depth = 0
  for (let i = start; i < text.length; i++) {
    const c = text[i]!
    if (c === "'" || c === '"' || c === '`') {
      for (i++; i < text.length && text[i] !== c; i++) if (text[i] === '\\') i++
    } else if (c === '/' && text[i + 1] === '/') {
      i = text.indexOf('\n', i)
      if (i < 0) return text.length
    } else if (c === '{') depth++
    else if (c === '}' && --depth === 0) return i + 1
  }
  return text.length
}

/** Every `.warn({ ... event: '<name>' ... })`, `.error(...)` and `.fatal(...)` call in `text`. */
export function loggedEvents(text: string, where: string): LoggedEvent[] {
  const found: LoggedEvent[] = []
  for (const m of text.matchAll(/\.(warn|error|fatal)\(\s*\{/g)) {
    const open = m.index + m[0].length - 1
    const object = text.slice(open, objectEnd(text, open))
    const event = /\bevent:\s*'([^']+)'/.exec(object)
    if (event) found.push({ event: event[1]!, level: m[1]!, where: `${where}:${text.slice(0, m.index).split('\n').length}` })
  }
  return found
}

interface Row {
  events: string[]
  level: string
  /** The "What to do" cell, or undefined in a table without that column. */
  todo: string | undefined
  line: number
}

/** The rows of every table in the "### Event catalogue" section (up to the next heading of level 2 or 3). */
function catalogue(doc: string): Row[] {
  const lines = doc.split('\n')
  const start = lines.findIndex((l) => l.trim() === '### Event catalogue')
  if (start < 0) throw new Error('docs/OPERATIONS.md has no "### Event catalogue" heading')
  let end = lines.findIndex((l, i) => i > start && /^#{2,3} /.test(l))
  if (end < 0) end = lines.length
  const cells = (l: string): string[] =>
    l
      .trim()
      .replace(/^\|/, '')
      .replace(/\|$/, '')
      .split('|')
      .map((c) => c.trim())
  const rows: Row[] = []
  let header: string[] | undefined
  for (let i = start + 1; i < end; i++) {
    const l = lines[i]!
    if (!l.trim().startsWith('|')) {
      header = undefined
      continue
    }
    if (/^\|[\s:|-]+\|$/.test(l.trim())) continue // the separator
    if (!header) {
      header = cells(l).map((h) => h.toLowerCase())
      continue
    }
    const row = cells(l)
    const column = (name: string): string | undefined => {
      const k = header!.indexOf(name)
      return k < 0 ? undefined : (row[k] ?? '')
    }
    rows.push({
      events: [...(column('event') ?? '').matchAll(/`([a-z_]+(?:\.[a-z_*]+)+)`/g)].map((x) => x[1]!),
      level: column('level') ?? '',
      todo: column('what to do'),
      line: i + 1,
    })
  }
  return rows
}

const rows = catalogue(readFileSync(DOC, 'utf8'))
const logged = sourceFiles(SRC).flatMap((f) => loggedEvents(readFileSync(f, 'utf8'), relative(ROOT, f)))
const hasTodo = (row: Row): boolean => row.todo !== undefined && row.todo.replace(/[—–-]/g, '').trim().length > 0

t.test('the scanner finds log calls across lines, and only warn/error/fatal ones', async (t) => {
  const sample = [
    `log.warn({ event: 'a.one', n: 1 }, 'x')`,
    `log.error(\n  { event: 'a.two', err: { message: String(e) } },\n  'y',\n)`,
    `log.fatal({ ...fields, reason: '}', event: 'a.three' })`,
    `log.info({ event: 'a.quiet' })`,
    `log.error({ event: s.fault, err })`,
  ].join('\n')
  t.same(
    loggedEvents(sample, 'sample').map((e) => `${e.level} ${e.event}`),
    ['warn a.one', 'error a.two', 'fatal a.three'],
  )
  // The real tree: a few known ones, so a broken scan cannot pass vacuously.
  const names = new Set(logged.map((e) => e.event))
  for (const known of ['host.fault', 'journal.failed', 'host.start_failed', 'journal.corrupt']) t.ok(names.has(known), `finds ${known}`)
})

t.test('every warn/error/fatal event in src/ is catalogued with what to do', async (t) => {
  for (const e of logged) {
    const row = rows.find((r) => r.events.includes(e.event))
    if (!row) {
      t.fail(`${e.event} (${e.level}, ${e.where}) is not in docs/OPERATIONS.md's event catalogue`)
      continue
    }
    t.ok(hasTodo(row), `${e.event} (${e.level}, ${e.where}): its row (OPERATIONS.md:${row.line}) says what to do`)
    t.match(row.level, new RegExp(`\\b${e.level}\\b`), `${e.event}: its row names the level ${e.level}`)
  }
})

t.test('every catalogued warn/error/fatal row says what to do', async (t) => {
  const severe = rows.filter((r) => /\b(warn|error|fatal)\b/.test(r.level))
  t.ok(severe.length > 10, 'the catalogue has its warn/error rows')
  for (const row of severe) t.ok(hasTodo(row), `${row.events.join(', ')} (OPERATIONS.md:${row.line}) has a non-empty "What to do"`)
  for (const row of rows) t.ok(row.events.length > 0, `OPERATIONS.md:${row.line} names an event`)
})

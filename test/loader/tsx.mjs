// tap's --import for TypeScript (see .taprc): tsx, with the source text inside its source maps.
//
// tsx embeds `sourcesContent` only when it sees NODE_V8_COVERAGE. tap collects coverage through
// the inspector instead, so tsx leaves it out, and c8 (v8-to-istanbul) then reads the map's
// `sourcesContent: [null]` as an empty file: every module counts as one covered statement and the
// coverage numbers mean nothing. tsx transforms modules in the loader-hooks thread, so the
// variable is set there only (sources-flag.mjs, registered before tsx): this process and its
// workers never see it, and Node writes no coverage files of its own.
import { register } from 'node:module'

register('./sources-flag.mjs', import.meta.url)
await import('tsx')

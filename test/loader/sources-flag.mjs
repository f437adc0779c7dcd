// Runs in the loader-hooks thread, before tsx loads there: see tsx.mjs.
process.env.NODE_V8_COVERAGE ??= '.tap/node-v8-coverage-unused'

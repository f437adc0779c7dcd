// Lint and module boundaries, run by `npm test` (`npm run lint`).
//
// Boundaries are checked with eslint-plugin-import-x rather than dependency-cruiser: one tool, one
// config and one pass over files the TypeScript parser has already read, with the same resolver for
// cycles and forbidden edges. test/lint/boundaries.test.ts proves that each boundary rule fires.
import globals from 'globals'
import { defineConfig } from 'eslint/config'
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import { importX } from 'eslint-plugin-import-x'
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript'

// What session and vector state must not know about: dispatch drives them, never the other way round.
const hostWiring = ['./src/dispatch', './src/transport', './src/ops']
// fastify, @fastify/*, ws (and their subpaths). No '/' in it: it is also an esquery regex below.
const wiringPackages = '^(fastify|@fastify|ws)\\b'
const wiringMessage = 'sessions/, vectors/ and journal/ know nothing of the web server or sockets (fastify, ws).'

export default defineConfig(
  { ignores: ['**/dist/**', 'coverage/**', '.tap/**', 'data/**', 'scratch/**'] },

  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      // The project service finds each file's own tsconfig: ./tsconfig.json for the host, tests,
      // benches and scripts; sdk/tsconfig.json (with DOM) for the SDK. Like `npm run typecheck`, the
      // host's types see the SDK through sdk/dist: run `npm run build:sdk` first (`npm test` does).
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    settings: {
      // import-x reads only the files it may parse: without these it never looks inside a .ts dependency, and no cycle is ever found.
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [
        createTypeScriptImportResolver({
          project: ['tsconfig.json', 'sdk/tsconfig.json'],
          noWarnOnMultipleProjects: true,
          // `rsh-source` first, as under tsx/tap: the workspace package @rag-session-host/client
          // resolves to sdk/src/*.ts, so cycles and edges are followed into the SDK's sources
          // instead of stopping at sdk/dist. No `browser`: the host and tests run in Node.
          conditionNames: ['rsh-source', 'types', 'import', 'node', 'default'],
        }),
      ],
    },
    rules: {
      // Deliberate style of this codebase, not defects.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      // `async` marks a promise-returning contract (fastify handlers, tap callbacks, interface methods) even without an await.
      '@typescript-eslint/require-await': 'off',
      // `Promise.all(ids.map((id) => conns.get(id)?.send(...)))`: a connection gone meanwhile is skipped.
      '@typescript-eslint/await-thenable': ['error', { allowMixedPromiseArrays: true }],
      // A getter in an object literal has its own `this`, and an arrow cannot be a getter (src/vectors/engine.ts).
      '@typescript-eslint/no-this-alias': ['error', { allowedNames: ['engine'] }],
      // tap queues `t.test(...)` subtests itself; any other promise left floating is still an error.
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafePromises: [{ from: 'package', name: 'PromiseWithSubtest', package: '@tapjs/core' }] }],

      // Module boundaries.
      'import-x/no-cycle': 'error',
      'import-x/no-self-import': 'error',
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            { target: './sdk', from: './src', message: 'The SDK imports no host code.' },
            { target: './src/sessions', from: hostWiring, message: 'sessions/ is state: it knows nothing of dispatch, transport or ops.' },
            { target: './src/vectors', from: hostWiring, message: 'vectors/ is state: it knows nothing of dispatch, transport or ops.' },
            { target: './src/journal', from: hostWiring, message: 'journal/ is storage: it knows nothing of dispatch, transport or ops.' },
            { target: './src/crypto', from: ['./src/sessions', './src/dispatch', './src/transport'], message: 'crypto/ knows nothing of sessions, dispatch or transport.' },
            { target: './sdk/src/shared', from: './sdk/src', except: ['./shared'], message: 'The shared module is self-contained: it imports only from sdk/src/shared.' },
          ],
        },
      ],
    },
  },

  // No web server or socket library below dispatch/transport, statically or at run time.
  {
    files: ['src/sessions/**/*.ts', 'src/vectors/**/*.ts', 'src/journal/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: wiringPackages, message: wiringMessage }] }],
      'no-restricted-syntax': ['error', { selector: `ImportExpression > Literal[value=/${wiringPackages}/]`, message: wiringMessage }],
    },
  },

  // The shared module runs unchanged in browsers: no Node built-ins, no packages, relative imports only.
  {
    files: ['sdk/src/shared/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '^(?!\\.{1,2}/)', message: 'sdk/src/shared imports nothing of Node and no packages.' }] }],
      'no-restricted-syntax': ['error', { selector: 'ImportExpression', message: 'sdk/src/shared loads no modules at run time.' }],
    },
  },

  // Tests and benches speak the raw wire: frames are read untyped on purpose, bad inputs are
  // stringified on purpose, and helpers hand out destructured functions.
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  // A benchmark child answers IPC with an async listener: a rejection there may crash it.
  { files: ['bench/**/*.ts'], rules: { '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }] } },

  // Plain JS (this file, test/loader/): recommended rules, no type information.
  { files: ['**/*.js', '**/*.mjs'], extends: [js.configs.recommended], languageOptions: { globals: { process: 'readonly' } } },
  // The browser example runs in a page: browser globals, no Node.
  { files: ['examples/browser/**/*.js'], languageOptions: { globals: globals.browser } },
  // The admin console (GET /admin) is a page too: browser globals only.
  { files: ['src/ops/console/*.js'], languageOptions: { globals: globals.browser } },
)

// The files the browser example is made of, as the static server maps them:
// the page, its scripts, and the SDK's browser bundle from sdk/dist.
import { fileURLToPath } from 'node:url'

const here = (name: string): string => fileURLToPath(new URL(name, import.meta.url))
const sdkBundle = (name: string): string => fileURLToPath(new URL(`../../sdk/dist/bundle/${name}`, import.meta.url))

export const SDK_BUNDLE = sdkBundle('client.browser.js')

/** The SDK bundle at /client.browser.js, with its source map. */
export const bundleFiles: Readonly<Record<string, string>> = {
  '/client.browser.js': SDK_BUNDLE,
  '/client.browser.js.map': sdkBundle('client.browser.js.map'),
}

export const exampleFiles: Readonly<Record<string, string>> = {
  '/index.html': here('index.html'),
  '/app.js': here('app.js'),
  '/embedder.js': here('embedder.js'),
  '/identity-store.js': here('identity-store.js'),
  '/style.css': here('style.css'),
  ...bundleFiles,
}

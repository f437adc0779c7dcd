// A deterministic feature-hashing embedder, small enough to read in a minute:
// a text's lower-cased word unigrams and bigrams are hashed (FNV-1a, 32 bit)
// into DIMS buckets with a ±1 sign from the hash's top bit, then the vector
// is L2-normalised. Texts that share words point the same way, so cosine
// search finds them; it is no language model, and needs no download.

export const DIMS = 256

/** Lower-cased runs of letters and digits. */
export function words(text) {
  return (
    text
      .normalize('NFKC')
      .toLowerCase()
      .match(/[\p{L}\p{N}]+/gu) ?? []
  )
}

/** FNV-1a over the UTF-16 code units of `s`, as an unsigned 32-bit integer. */
export function fnv1a(s) {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h
}

/** The unit vector of `text`, or null when it has no words. */
export function embed(text) {
  const w = words(text)
  const features = [...w, ...w.slice(1).map((word, i) => `${w[i]} ${word}`)]
  if (features.length === 0) return null
  const v = new Float32Array(DIMS)
  for (const f of features) {
    const h = fnv1a(f)
    v[h % DIMS] += h & 0x80000000 ? -1 : 1
  }
  let norm = 0
  for (const x of v) norm += x * x
  // Opposite signs can cancel out completely; such a text has no direction.
  if (norm === 0) return null
  const scale = 1 / Math.sqrt(norm)
  for (let i = 0; i < DIMS; i++) v[i] *= scale
  return v
}

/** Pasted text split into chunks at blank lines. */
export function chunks(text) {
  return text
    .split(/\n\s*\n/)
    .map((c) => c.trim())
    .filter((c) => c.length > 0)
}

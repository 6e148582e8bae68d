/**
 * PostgreSQL's 64-bit seeded hash functions (Bob Jenkins' lookup3, as in PostgreSQL's hash_bytes_extended
 * and hash_bytes_uint32_extended on a little-endian server), written in JavaScript so recount can compute
 * a warehouse checksum on its own side that PostgreSQL computes natively in SQL (hashtextextended,
 * hashint8extended, …). Equality with the server is tested against a real PostgreSQL.
 *
 * A result is returned in two module-level 32-bit halves rather than an allocated pair: this runs once per
 * key column per row, millions of times per load.
 */

/** High 32 bits of the last hash computed (as a signed int32, so sums of it stay exact in a Number). */
export let hashHi = 0;
/** Low 32 bits of the last hash computed (unsigned). */
export let hashLo = 0;

let a = 0;
let b = 0;
let c = 0;

function rot(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** One mixing step of lookup3: x -= y; x ^= rot(y, k). */
function mixStep(x: number, y: number, k: number): number {
  return ((x - y) | 0) ^ rot(y, k);
}

/** One final step of lookup3: x ^= y; x -= rot(y, k). */
function finalStep(x: number, y: number, k: number): number {
  return ((x ^ y) - rot(y, k)) | 0;
}

// Three of lookup3's mixing steps, each mixing one word with the one before it and adding the third.
function mixRound(k1: number, k2: number, k3: number): void {
  a = mixStep(a, c, k1);
  c = (c + b) | 0;
  b = mixStep(b, a, k2);
  a = (a + c) | 0;
  c = mixStep(c, b, k3);
  b = (b + a) | 0;
}

// lookup3's mix(a, b, c).
function mix(): void {
  mixRound(4, 6, 8);
  mixRound(16, 19, 4);
}

// Three of lookup3's final steps.
function finalRound(k1: number, k2: number, k3: number): void {
  c = finalStep(c, b, k1);
  a = finalStep(a, c, k2);
  b = finalStep(b, a, k3);
}

// lookup3's final(a, b, c), leaving the 64-bit result as (b, c) in hashHi and hashLo.
function finish(): void {
  finalRound(14, 11, 25);
  finalRound(16, 4, 14);
  c = finalStep(c, b, 24);
  hashHi = b | 0;
  hashLo = c >>> 0;
}

/** Four bytes at i as a little-endian 32-bit word. */
function wordAt(k: Uint8Array, i: number): number {
  return k[i]! | (k[i + 1]! << 8) | (k[i + 2]! << 16) | (k[i + 3]! << 24);
}

function seedState(len: number, seed: number): void {
  a = b = c = (0x9e3779b9 + len + 3923095) | 0;
  // Seeds are below 2^31 (a key column's position, or a column's name hash), so the seed's high word is 0.
  if (seed !== 0) {
    b = (b + seed) | 0;
    mix();
  }
}

/** hash_bytes_extended(bytes, seed): what PostgreSQL's hashtextextended returns for text with these UTF-8 bytes. */
export function hashBytes(k: Uint8Array, seed: number): void {
  let len = k.length;
  seedState(len, seed);
  let i = 0;
  while (len >= 12) {
    a = (a + wordAt(k, i)) | 0;
    b = (b + wordAt(k, i + 4)) | 0;
    c = (c + wordAt(k, i + 8)) | 0;
    mix();
    i += 12;
    len -= 12;
  }
  // The tail, little-endian: bytes 0-3 into a, 4-7 into b, 8-10 into c from its second byte (the lowest stays
  // reserved for the length, as in lookup3).
  for (let j = 0; j < len; j++) {
    const byte = k[i + j]!;
    if (j < 4) a = (a + (byte << (8 * j))) | 0;
    else if (j < 8) b = (b + (byte << (8 * (j - 4)))) | 0;
    else c = (c + (byte << (8 * (j - 7)))) | 0;
  }
  finish();
}

/** hash_bytes_uint32_extended(k, seed): what hashint4extended returns for k (and hashint8extended for a folded int8). */
export function hashUint32(k: number, seed: number): void {
  seedState(4, seed);
  a = (a + k) | 0;
  finish();
}

// One double's IEEE-754 bytes, read as two little-endian 32-bit words (PostgreSQL hashes the bytes in memory, and
// recount supports little-endian servers only, as for the other hashes).
const f64 = new Float64Array(1);
const f64Words = new Uint32Array(f64.buffer);

/**
 * hashfloat8extended(value, seed): 0 and -0 hash to the seed itself, every NaN to the canonical NaN's hash, any other
 * value to hash_bytes_extended of its 8 bytes. hashfloat4extended widens to float8 first, so a REAL hashes like the
 * same value as DOUBLE PRECISION and a FLOAT column can be hashed as its DOUBLE.
 */
export function hashFloat8(value: number, seed: number): void {
  if (value === 0) {
    hashHi = 0;
    hashLo = seed >>> 0;
    return;
  }
  if (Number.isNaN(value)) {
    // get_float8_nan(): the positive quiet NaN, whatever NaN bits the engine handed over.
    f64Words[0] = 0;
    f64Words[1] = 0x7ff80000;
  } else f64[0] = value;
  seedState(8, seed);
  a = (a + f64Words[0]!) | 0;
  b = (b + f64Words[1]!) | 0;
  finish();
}

/**
 * Fold a 64-bit integer given as two 32-bit halves the way PostgreSQL's hashint8 does before hashing, so an
 * int8 in int4 range hashes like the int4: low word XOR (high word, or its complement when negative).
 */
export function foldInt64(hi: number, lo: number): number {
  return (lo ^ (hi >= 0 ? hi : ~hi)) >>> 0;
}

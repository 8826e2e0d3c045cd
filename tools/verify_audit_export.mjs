#!/usr/bin/env node
// Verify an exported activity log (audit trail) on its own, in JavaScript.
//
//     node verify_audit_export.mjs EXPORT.jsonl [--manifest EXPORT.jsonl.manifest.json]
//
// Needs Node 18 or later and nothing else: no npm package, not the project.
// Written from docs/audit-trail.md alone, to show that the specification is
// language-neutral; it checks exactly what verify_audit_export.py checks and
// prints the same first problem:
//
//     FAIL <kind> chain=<chain> sequence=<sequence>: <what is wrong>
//
// Signed checkpoints in the manifest are checked too: each Ed25519 signature
// (node:crypto) under the manifest's key whose id the checkpoint names
// (`public_key`, or one of `public_keys` after a rotation), and each
// checkpoint's hash against the exported line at its sequence.
//
// Exit status 0: intact; 1: the first problem; 2: the files could not be read.

import { createHash, createPublicKey, verify as verifySignature } from "node:crypto";
import { createReadStream, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

const FORMATS = [1, 2];
const LINE_KEYS = ["chain", "sequence", "format", "previous_hash", "entry_hash", "entry"];

class Problem extends Error {
  constructor(kind, message, chain = null, sequence = null) {
    super(message);
    Object.assign(this, { kind, chain, sequence });
  }
  toString() {
    const where = `chain=${this.chain ?? "None"} sequence=${this.sequence ?? "None"}`;
    return `FAIL ${this.kind} ${where}: ${this.message}`;
  }
}

// RFC 8785: JSON.stringify already writes numbers and strings as the RFC
// requires (it is defined by ECMAScript); only the member order is added:
// keys sorted by UTF-16 code units, which is what Array.prototype.sort does.
function jcs(value) {
  if (value === null || typeof value !== "object") {
    if (typeof value === "number" && !Number.isFinite(value)) throw new Error("not JSON");
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(jcs).join(",")}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${jcs(value[key])}`).join(",")}}`;
}

function sha256Hex(...parts) {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part);
  return hash.digest("hex");
}

function linkHash(canonical, previousHash) {
  return sha256Hex(Buffer.from(canonical, "utf8"), Buffer.from(previousHash, "ascii"));
}

// Equal as JSON values: numbers by value, nothing else across types.
function same(a, b) {
  if (typeof a !== typeof b || (a === null) !== (b === null)) return false;
  if (a === null || typeof a !== "object") return a === b;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === b.length && a.every((item, i) => same(item, b[i]));
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => Object.hasOwn(b, key) && same(a[key], b[key]));
}

const isInt = (value) => Number.isInteger(value);

function parseLine(text, number) {
  let line;
  try {
    line = JSON.parse(text);
  } catch (error) {
    throw new Problem("malformed", `line ${number} is not JSON: ${error.message}`);
  }
  const wellFormed =
    line !== null && typeof line === "object" && !Array.isArray(line) &&
    ["chain", "sequence", "format"].every((key) => isInt(line[key])) &&
    ["previous_hash", "entry_hash"].every((key) => typeof line[key] === "string") &&
    (line.entry === null || (typeof line.entry === "object" && !Array.isArray(line.entry)));
  if (!wellFormed) {
    throw new Problem(
      "malformed",
      `line ${number} lacks one of ${LINE_KEYS.join(", ")}, or one has the wrong type`,
    );
  }
  return line;
}

function hashOf(line) {
  try {
    if (line.format === 2) return linkHash(jcs(line.entry), line.previous_hash);
    const canonical = line.canonical;
    if (typeof canonical !== "string" || !same(JSON.parse(canonical), line.entry)) return null;
    return linkHash(canonical, line.previous_hash);
  } catch {
    return null;
  }
}

function checkLink(line, run, last) {
  const { chain, sequence } = line;
  const [wantSequence, wantPrevious, formatSoFar] = last
    ? [last.sequence + 1, last.hash, last.format]
    : [run.first_sequence, run.previous_hash, 0];
  if (sequence !== wantSequence) {
    throw new Problem("link", `expected #${wantSequence} here: a line was removed, added or moved`, chain, sequence);
  }
  if (line.previous_hash !== wantPrevious) {
    throw new Problem("link", "the previous hash does not match the line before", chain, sequence);
  }
  if (!FORMATS.includes(line.format) || line.format < formatSoFar) {
    throw new Problem("format", `format ${line.format} after format ${formatSoFar}`, chain, sequence);
  }
  if (line.entry === null) {
    throw new Problem("missing", "the sealed entry is missing from the database", chain, sequence);
  }
  if (hashOf(line) !== line.entry_hash) {
    throw new Problem("edited", "the entry does not give its recorded hash", chain, sequence);
  }
  return { sequence, hash: line.entry_hash, format: line.format, count: (last?.count ?? 0) + 1 };
}

function checkEnd(chain, run, last) {
  if (!last || last.sequence !== run.last_sequence) {
    const got = last ? `#${last.sequence}` : "no line";
    throw new Problem("truncated", `the chain ends at ${got}, the manifest says #${run.last_sequence}`, chain, run.last_sequence);
  }
  if (last.hash !== run.last_hash || last.count !== run.count) {
    throw new Problem("manifest", "the last hash or the count differs from the manifest", chain, last.sequence);
  }
  if (run.head_sequence < run.last_sequence ||
      (run.head_sequence === run.last_sequence && run.head_hash !== run.last_hash)) {
    throw new Problem("manifest", "the chain head is not at or after the last line", chain, run.head_sequence);
  }
}

// A key's id: the first 16 hex digits of SHA-256 over its 32 raw bytes.
function keyId(key) {
  const raw = key.export({ type: "spki", format: "der" }).subarray(-32);
  return createHash("sha256").update(raw).digest("hex").slice(0, 16);
}

// The manifest's keys (`public_key` and the values of `public_keys`), by the
// id computed here: the manifest's own labels are not trusted.
function publicKeys(manifest) {
  const retired = manifest.public_keys ?? {};
  if (typeof retired !== "object" || Array.isArray(retired)) {
    throw new Problem("manifest", "public_keys is not an object");
  }
  const pems = [manifest.public_key, ...Object.values(retired)];
  const keys = new Map();
  for (const pem of pems) {
    if (pem === null || pem === undefined) continue;
    try {
      const key = createPublicKey(pem);
      if (key.asymmetricKeyType !== "ed25519") throw new Error("not an Ed25519 public key");
      keys.set(keyId(key), key);
    } catch (error) {
      throw new Problem("manifest", `a public key is not usable: ${error.message}`);
    }
  }
  return keys;
}

function checkSignature(keys, document, chain, sequence) {
  if (keys.size === 0) throw new Problem("manifest", "checkpoints without a public key", chain, sequence);
  const kid = document.payload?.key_id;
  const key = keys.get(kid);
  if (key === undefined) {
    const shown = typeof kid === "string" ? kid : "";
    throw new Problem("checkpoint", `signed with key '${shown}', which the manifest does not carry`, chain, sequence);
  }
  let holds = false;
  try {
    const signature = Buffer.from(document.signature, "base64");
    const valid = /^[A-Za-z0-9+/]*={0,2}$/.test(document.signature) && signature.length === 64;
    holds = valid && document.payload.chain === chain &&
      verifySignature(null, Buffer.from(jcs(document.payload), "utf8"), key, signature);
  } catch {
    holds = false;
  }
  if (!holds) throw new Problem("checkpoint", "the checkpoint's signature does not hold", chain, sequence);
}

function checkCheckpoint(line, document) {
  if (document !== undefined && document.payload.entry_hash !== line.entry_hash) {
    throw new Problem(
      "checkpoint",
      `the line's hash differs from the checkpoint signed ${document.payload.signed_at}`,
      line.chain, line.sequence,
    );
  }
}

// The file's lines, split on LF only as the specification says (a string
// may hold U+2028 unescaped), read in chunks: an export can be larger than
// the longest string V8 can hold.
async function* linesOf(path) {
  let rest = Buffer.alloc(0);
  for await (const chunk of createReadStream(path)) {
    let data = Buffer.concat([rest, chunk]);
    let start = 0;
    for (let end = data.indexOf(10); end !== -1; end = data.indexOf(10, start)) {
      yield data.toString("utf8", start, end);
      start = end + 1;
    }
    rest = data.subarray(start);
  }
  if (rest.length) yield rest.toString("utf8");
}

async function fileSha256(path) {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk);
  return hash.digest("hex");
}

async function verify(exportPath, manifestPath) {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
  } catch (error) {
    if (error.code) throw error;
    throw new Problem("manifest", `the manifest is not JSON: ${error.message}`);
  }
  const digest = await fileSha256(exportPath);
  if (digest !== manifest.sha256) {
    throw new Problem("manifest", `the file's SHA-256 is ${digest}, the manifest says ${manifest.sha256}`);
  }
  const expected = new Map((manifest.chains ?? []).map((run) => [run.chain, run]));
  const keys = publicKeys(manifest);
  const checkpoints = new Map();
  for (const run of expected.values()) {
    for (const document of run.checkpoints ?? []) {
      checkpoints.set(`${run.chain}:${document.payload.sequence}`, [run.chain, document]);
    }
  }
  for (const [chain, document] of checkpoints.values()) {
    checkSignature(keys, document, chain, document.payload.sequence);
  }
  const state = new Map();
  let count = 0;
  for await (const raw of linesOf(exportPath)) {
    const number = count + 1;
    const line = parseLine(raw, number);
    if (!expected.has(line.chain)) {
      throw new Problem("manifest", `line ${number}: the manifest has no chain ${line.chain}`, line.chain, line.sequence);
    }
    state.set(line.chain, checkLink(line, expected.get(line.chain), state.get(line.chain)));
    checkCheckpoint(line, checkpoints.get(`${line.chain}:${line.sequence}`)?.[1]);
    count += 1;
  }
  for (const [chain, run] of expected) checkEnd(chain, run, state.get(chain));
  if (count !== manifest.count) {
    throw new Problem("manifest", `${count} lines, the manifest says ${manifest.count}`);
  }
  return [count, expected.size, checkpoints.size];
}

async function main(argv) {
  const args = argv.slice(2);
  const flag = args.indexOf("--manifest");
  const manifestArg = flag >= 0 ? args.splice(flag, 2)[1] : null;
  const [exportPath] = args;
  if (!exportPath) {
    console.error("usage: node verify_audit_export.mjs EXPORT.jsonl [--manifest FILE]");
    return 2;
  }
  const manifestPath = manifestArg ?? join(dirname(exportPath), `${basename(exportPath)}.manifest.json`);
  try {
    const [entries, chains, signed] = await verify(exportPath, manifestPath);
    console.log(`OK ${entries} entries in ${chains} chains, ${signed} checkpoints`);
    return 0;
  } catch (error) {
    if (error instanceof Problem) {
      console.log(String(error));
      return 1;
    }
    if (error.code) {
      console.error(`cannot read: ${error.message}`);
      return 2;
    }
    console.log(String(new Problem("manifest", `the manifest lacks or mistypes a field (${error.message})`)));
    return 1;
  }
}

export { jcs, verify };

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv);
}

/**
 * At-rest encryption through the public API: round trips for both ciphers and
 * both kinds of key, the open-time key checks, every tamper case (a flipped
 * kind or flag, an edited expiry, moved, replayed and transplanted records,
 * forged deletions, a forged checkpoint, a plaintext record), nothing in clear
 * on disk, and the admin rewrites (enable, disable, rotate), also killed at
 * every step.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Emdb, type EmdbOptions } from "../mod.ts";
import { assertEmdbError, bytesEqual, crc32c, readBytes, runFixture, tempDbPath, tempDir } from "./_helpers.ts";
import { Keyring } from "../src/crypto/keyring.ts";
import { RecordCrypto } from "../src/engine/record_crypto.ts";

const KEY = Uint8Array.from({ length: 32 }, (_, i) => i * 7 + 1);
const OTHER_KEY = Uint8Array.from({ length: 32 }, (_, i) => 255 - i);
/** Cheap Argon2id costs: the tests exercise the path, not the cost. */
const CHEAP = { memoryKiB: 64, passes: 1, parallelism: 1 };

type Setup = { name: string; options: EmdbOptions };
const SETUPS: Setup[] = [
  { name: "AES-256-GCM, raw key", options: { encryption: { key: KEY } } },
  { name: "ChaCha20-Poly1305, raw key", options: { encryption: { key: KEY }, cipher: "chacha20-poly1305" } },
  { name: "AES-256-GCM, passphrase", options: { encryption: { passphrase: "correct horse" }, kdf: CHEAP } },
  {
    name: "ChaCha20-Poly1305, passphrase",
    options: { encryption: { passphrase: "correct horse" }, cipher: "chacha20-poly1305", kdf: CHEAP },
  },
];

/** The kinds of a journal's records, in order, with their offsets (top-level records, then each batch's). */
function records(bytes: Uint8Array): { off: number; kind: number; flags: number; len: number; ns: number }[] {
  const out: { off: number; kind: number; flags: number; len: number; ns: number }[] = [];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const lenOf = (p: number) => {
    if (bytes[p + 4] === 5) return 16 + dv.getUint32(p + 8, true);
    const flags = bytes[p + 5]!;
    const extra = (flags & 1 ? 8 : 0) + (flags & 2 ? 8 : 0);
    return Math.ceil((16 + extra + dv.getUint16(p + 6, true) + dv.getUint32(p + 8, true)) / 8) * 8;
  };
  for (let p = 256; p + 16 <= bytes.length;) {
    const kind = bytes[p + 4]!;
    if (kind === 0) break;
    const len = lenOf(p);
    out.push({ off: p, kind, flags: bytes[p + 5]!, len, ns: dv.getUint32(p + 12, true) });
    if (kind === 5) {
      for (let q = p + 16; q < p + len; q += lenOf(q)) {
        out.push({ off: q, kind: bytes[q + 4]!, flags: bytes[q + 5]!, len: lenOf(q), ns: dv.getUint32(q + 12, true) });
      }
    }
    p += len;
  }
  return out;
}

/** Recomputes a record's CRC after an edit (what an attacker with write access can always do). */
function reseal(bytes: Uint8Array, off: number, len: number): void {
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(off + 0, crc32c(bytes, off + 4, off + len), true);
}

const text = (v: Uint8Array | undefined) => (v === undefined ? undefined : new TextDecoder().decode(v));

for (const { name, options } of SETUPS) {
  test(`${name}: every operation round-trips, across reopen from the checkpoint and by replay`, (t) => {
    const path = tempDbPath(t);
    let now = 1_000;
    const opts = { ...options, clock: () => now };
    {
      using db = Emdb.open(path, opts);
      db.set("user:1", "Ada");
      db.set(Uint8Array.of(0, 0xff), Uint8Array.of(1, 2, 3));
      db.setMany([["user:2", "Grace"], ["user:3", "Barbara", { ttl: 100 }], ["tmp", "x"]]);
      db.delete("tmp");
      const ns = db.namespace("secret-namespace");
      ns.set("k", "in a namespace");
      db.transaction((tx) => {
        tx.set("user:4", "Katherine");
        tx.namespace("created-in-tx").set("a", "b");
      });
      const e = db.getEntry("user:1")!;
      assert.equal(db.atomic().check({ key: "user:1", version: e.version }).set("user:1", "Ada L.").commit().ok, true);
      assert.deepEqual([...db.rangeKeys({ prefix: "user:" })], ["user:1", "user:2", "user:3", "user:4"]);
      assert.equal(db.getString("user:1"), "Ada L.");
      assert.equal(db.ttl("user:3"), 100);
      assert.equal(db.stats().encrypted, true);
      assertEmdbError(() => db.getUnsafeView("user:1"), "UNSUPPORTED");
    }
    now = 2_000; // user:3 expired
    for (const useCheckpoint of [true, false]) {
      using db = Emdb.open(path, { ...opts, useCheckpoint, checkpointOnClose: false });
      assert.equal(db.stats().openedFrom, useCheckpoint ? "checkpoint" : "replay");
      assert.equal(db.getString("user:1"), "Ada L.");
      assert.deepEqual(db.get(Uint8Array.of(0, 0xff)), Uint8Array.of(1, 2, 3));
      assert.equal(db.has("tmp"), false);
      assert.equal(db.has("user:3"), false, "expired");
      assert.deepEqual(db.namespaces(), ["created-in-tx", "secret-namespace"]);
      assert.equal(db.namespace("secret-namespace").getString("k"), "in a namespace");
      assert.deepEqual([...db.keys()].map((k) => typeof k === "string" ? k : "bytes").sort(), [
        "bytes",
        "user:1",
        "user:2",
        "user:4",
      ]);
      assert.deepEqual([...db.range({ start: "user:2" })].map(([k, v]) => [k, text(v)]), [
        ["user:2", "Grace"],
        ["user:4", "Katherine"],
      ]);
    }
    // Nothing in clear on disk: not the keys, values or namespace names, in the journal or the checkpoint.
    for (const file of [path, `${path}.hint`]) {
      const raw = readFileSync(file).toString("latin1");
      for (const secret of ["Ada", "Grace", "Katherine", "user:", "secret-namespace", "created-in-tx"]) {
        assert.equal(raw.includes(secret), false, `${secret} is readable in ${file}`);
      }
    }
  });
}

test("a wrong key or passphrase is KEY_MISMATCH before anything is written; no key is KEY_REQUIRED", (t) => {
  const path = tempDbPath(t);
  Emdb.open(path, { encryption: { key: KEY } }).close();
  const pass = tempDbPath(t, "pass.emdb");
  Emdb.open(pass, { encryption: { passphrase: "right" }, kdf: CHEAP }).close();
  for (
    const [p, options] of [
      [path, { encryption: { key: OTHER_KEY } }],
      [pass, { encryption: { passphrase: "wrong" } }],
    ] as const
  ) {
    const before = readBytes(p);
    assertEmdbError(() => Emdb.open(p, options), "KEY_MISMATCH");
    assertEmdbError(() => Emdb.open(p), "KEY_REQUIRED");
    assert.ok(bytesEqual(readBytes(p), before), "the file was not touched");
  }
  assertEmdbError(() => Emdb.open(path, { encryption: { passphrase: "a passphrase" } }), "INVALID_CONFIG");
  assertEmdbError(() => Emdb.open(pass, { encryption: { key: KEY } }), "INVALID_CONFIG");
  assertEmdbError(() => Emdb.open(path, { encryption: { key: KEY }, cipher: "chacha20-poly1305" }), "INVALID_CONFIG");
  const plain = tempDbPath(t, "plain.emdb");
  Emdb.open(plain).close();
  const before = readBytes(plain);
  assertEmdbError(() => Emdb.open(plain, { encryption: { key: KEY } }), "NOT_ENCRYPTED");
  assert.ok(bytesEqual(readBytes(plain), before));
  assert.throws(() => Emdb.open(plain, { encryption: { key: new Uint8Array(16) } }), RangeError);
  assert.throws(() => Emdb.open(plain, { encryption: { passphrase: "" } }), RangeError);
  assert.throws(() => Emdb.open(plain, { encryption: { key: KEY, passphrase: "x" } as never }), TypeError);
});

/** A fresh encrypted database with a few records, closed without a checkpoint (so an open replays everything). */
function sample(path: string): void {
  using db = Emdb.open(path, { encryption: { key: KEY }, checkpointOnClose: false });
  db.set("a", "value-A");
  db.set("b", "value-B");
  db.namespace("n").set("c", "value-C");
  db.set("a", "value-a"); // same length as value-A: an old version and a new one of one key
  db.namespace("n").clear();
  db.set("d", "value-D");
  db.delete("d");
  db.set("e", "value-E", { ttl: 3_600_000 });
}

function tampered(t: { after(fn: () => void): void }, edit: (bytes: Uint8Array) => void): string {
  const path = tempDbPath(t);
  sample(path);
  const bytes = readBytes(path);
  edit(bytes);
  writeFileSync(path, bytes);
  return path;
}

test("a record moved to another place, or an old version replayed over a newer one, fails authentication", (t) => {
  // Swap the two versions of "a" (same length): each now sits where it was not sealed.
  const path = tampered(t, (bytes) => {
    const puts = records(bytes).filter((r) => r.kind === 1 && r.ns === 0);
    const [a1, , , a2] = puts; // a, b, (n:c is ns 1), a again
    assert.equal(a1!.len, a2!.len);
    const first = bytes.slice(a1!.off, a1!.off + a1!.len);
    bytes.copyWithin(a1!.off, a2!.off, a2!.off + a2!.len);
    bytes.set(first, a2!.off);
  });
  using db = Emdb.open(path, { encryption: { key: KEY } });
  const e = assertEmdbError(() => db.get("a"), "CORRUPTED");
  assert.match(e.message, /authentication/);
  assert.equal(db.getString("b"), "value-B", "other records stay readable");
});

test("a record transplanted from another database under the same key fails authentication", (t) => {
  const other = tempDbPath(t, "other.emdb");
  sample(other);
  const donor = readBytes(other);
  const path = tampered(t, (bytes) => {
    // Same operations, same layout: the record for "b" sits at the same offset in both files.
    const off = records(bytes).filter((r) => r.kind === 1)[1]!;
    bytes.set(donor.subarray(off.off, off.off + off.len), off.off);
  });
  using db = Emdb.open(path, { encryption: { key: KEY } });
  assertEmdbError(() => db.get("b"), "CORRUPTED");
  assert.equal(db.getString("a"), "value-a");
});

test("an edited expiry or a flipped flag fails authentication, even with the CRC recomputed", (t) => {
  const expiry = tampered(t, (bytes) => {
    const e = records(bytes).filter((r) => r.kind === 1 && (r.flags & 1) !== 0)[0]!;
    bytes[e.off + 16 + 4]! ^= 0x01; // a later expiry
    reseal(bytes, e.off, e.len);
  });
  using db = Emdb.open(expiry, { encryption: { key: KEY } });
  assertEmdbError(() => db.get("e"), "CORRUPTED");
  db.close();
  const flag = tampered(t, (bytes) => {
    const b = records(bytes).filter((r) => r.kind === 1)[1]!;
    bytes[b.off + 5]! ^= 0x04; // KEY_TEXT: the key would come back as bytes
    reseal(bytes, b.off, b.len);
  });
  using db2 = Emdb.open(flag, { encryption: { key: KEY } });
  assertEmdbError(() => [...db2.keys()], "CORRUPTED");
});

test("a flipped kind (a CLEAR turned into a namespace drop) is refused at open with the record's offset", (t) => {
  let at = 0;
  const path = tampered(t, (bytes) => {
    const clear = records(bytes).find((r) => r.kind === 4)!;
    bytes[clear.off + 4] = 3; // NAMESPACE with an empty name: a drop, same lengths
    reseal(bytes, clear.off, clear.len);
    at = clear.off;
  });
  const e = assertEmdbError(() => Emdb.open(path, { encryption: { key: KEY } }), "CORRUPTED");
  assert.equal(e.offset, at);
  assert.match(e.message, /authentication/);
});

test("a forged deletion (a tombstone copied over another record) is refused at open", (t) => {
  let at = 0;
  const path = tampered(t, (bytes) => {
    const rs = records(bytes);
    const del = rs.find((r) => r.kind === 2)!;
    // Put a copy of the tombstone where the record for "e" begins (a PUT is longer: the rest becomes garbage).
    const e = rs.filter((r) => r.kind === 1 && (r.flags & 1) !== 0)[0]!;
    bytes.set(bytes.slice(del.off, del.off + del.len), e.off);
    at = e.off;
  });
  const e = assertEmdbError(() => Emdb.open(path, { encryption: { key: KEY } }), "CORRUPTED");
  assert.equal(e.offset, at);
});

test("a plaintext record appended to an encrypted journal is refused", (t) => {
  const path = tampered(t, () => {});
  const plain = tempDbPath(t, "plain.emdb");
  {
    using db = Emdb.open(plain, { checkpointOnClose: false });
    db.set("x", "injected");
  }
  const injected = readBytes(plain).subarray(256);
  writeFileSync(path, Buffer.concat([readFileSync(path), injected]));
  const e = assertEmdbError(() => Emdb.open(path, { encryption: { key: KEY } }), "CORRUPTED");
  assert.match(e.message, /plaintext/);
});

test("a checkpoint whose entries were edited (CRC recomputed) fails its HMAC and is not used", (t) => {
  const path = tempDbPath(t);
  {
    using db = Emdb.open(path, { encryption: { key: KEY } });
    for (let i = 0; i < 100; i++) db.set(`k${i}`, "v");
  }
  const hint = new Uint8Array(readFileSync(`${path}.hint`));
  const dv = new DataView(hint.buffer);
  dv.setUint32(80 + 8 + 24, dv.getUint32(80 + 8 + 24, true) ^ 1, true); // the first entry's hash
  dv.setUint32(hint.length - 4, crc32c(hint, 0, hint.length - 4), true);
  writeFileSync(`${path}.hint`, hint);
  using db = Emdb.open(path, { encryption: { key: KEY } });
  assert.equal(db.stats().openedFrom, "replay");
  assert.equal(db.size, 100);
});

test("encrypted compaction and backup open with the same key or passphrase", async (t) => {
  const dir = tempDir(t);
  for (const options of [SETUPS[1]!.options, SETUPS[2]!.options]) {
    const path = join(dir, `db-${Math.random()}.emdb`);
    const target = `${path}.bak`;
    {
      using db = Emdb.open(path, options);
      for (let i = 0; i < 500; i++) db.set(`k${i % 50}`, `v${i}`, i % 2 === 0 ? { ttl: 3_600_000 } : undefined);
      db.namespace("ns").set("a", "b");
      await db.compact();
      assert.equal(db.getString("k49"), "v499");
      await db.backupTo(target);
    }
    for (const p of [path, target]) {
      using db = Emdb.open(p, options);
      assert.equal(db.size, 50);
      assert.equal(db.getString("k48"), "v498");
      assert.ok(db.ttl("k48")! > 3_000_000, "expiry kept");
      assert.equal(db.namespace("ns").getString("a"), "b");
    }
  }
});

test("enableEncryption, rotateKey and disableEncryption keep every record, expiry, namespace and the cipher", (t) => {
  const path = tempDbPath(t);
  // Long enough that random ciphertext cannot contain it by chance (a 2-byte name did, about once in 60 runs).
  const NS = "namespace-name-that-must-not-appear";
  {
    using db = Emdb.open(path);
    db.setMany([["a", "1"], ["b", "2", { ttl: 3_600_000 }]]);
    db.namespace(NS).set("c", "3");
  }
  const check = (options: EmdbOptions, what: string, cipher?: string) => {
    using db = Emdb.open(path, options);
    assert.equal(db.getString("a"), "1", what);
    assert.ok(db.ttl("b")! > 3_000_000, `${what}: expiry kept`);
    assert.equal(db.namespace(NS).getString("c"), "3", what);
    assert.equal(db.stats().encrypted, options.encryption !== undefined, what);
    assert.equal(db.stats().cipher, cipher, what);
  };
  Emdb.enableEncryption(path, { key: KEY }, { cipher: "chacha20-poly1305" });
  check({ encryption: { key: KEY } }, "after enable", "chacha20-poly1305");
  assertEmdbError(() => Emdb.open(path), "KEY_REQUIRED");
  assert.ok(!readFileSync(path).toString("latin1").includes(NS), "the namespace name is sealed");
  Emdb.rotateKey(path, { key: KEY }, { passphrase: "new passphrase" }, { kdf: CHEAP });
  check(
    { encryption: { passphrase: "new passphrase" }, cipher: "chacha20-poly1305" },
    "after rotate (cipher kept)",
    "chacha20-poly1305",
  );
  assertEmdbError(() => Emdb.open(path, { encryption: { key: KEY } }), "INVALID_CONFIG");
  Emdb.rotateKey(path, { passphrase: "new passphrase" }, { key: OTHER_KEY }, { cipher: "aes-256-gcm" });
  check({ encryption: { key: OTHER_KEY }, cipher: "aes-256-gcm" }, "after rotate to another cipher", "aes-256-gcm");
  assertEmdbError(() => Emdb.open(path, { encryption: { key: KEY } }), "KEY_MISMATCH");
  Emdb.disableEncryption(path, { key: OTHER_KEY });
  check({}, "after disable");
  assertEmdbError(() => Emdb.enableEncryption(`${path}.missing`, { key: KEY }), "NOT_FOUND");
  assertEmdbError(() => Emdb.disableEncryption(path, { key: KEY }), "NOT_ENCRYPTED");
  using _held = Emdb.open(path);
  assertEmdbError(() => Emdb.enableEncryption(path, { key: KEY }), "LOCK_BUSY");
});

for (const step of ["copy", "sync", "rename", "renamed"] as const) {
  test(`rotateKey killed at step "${step}" opens with the old key or the new one, every record there`, async (t) => {
    const path = tempDbPath(t);
    const r = await runFixture("rekey_child.ts", [path, step], { timeoutMs: 60_000 });
    assert.equal(r.signal, "SIGKILL", `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, new RegExp(`killed at ${step}`));
    assert.equal(existsSync(`${path}.compact`), step === "copy" || step === "sync" || step === "rename");
    let opened: Emdb | undefined;
    for (const key of [KEY, OTHER_KEY]) {
      try {
        opened = Emdb.open(path, { encryption: { key } });
        break;
      } catch (e) {
        assert.equal((e as { code?: string }).code, "KEY_MISMATCH");
      }
    }
    assert.ok(opened, "opens with one of the two keys");
    using db = opened;
    assert.equal(db.size, 2000);
    for (let i = 0; i < 2000; i += 97) assert.equal(db.getString(`k${i}`), `value ${i}`);
    assert.ok(db.namespace("ns").ttl("t")! > 3_000_000);
    assert.equal(existsSync(`${path}.compact`), false, "the open removed the leftover");
  });
}

test("a compaction of an encrypted database does not write its records in key order", async (t) => {
  const path = tempDbPath(t);
  const keys = Array.from({ length: 300 }, (_, i) => `k${String(i).padStart(3, "0")}`);
  {
    using db = Emdb.open(path, { encryption: { key: KEY } });
    db.setMany(keys.map((k) => [k, "v"] as const));
    for (const k of keys.slice(0, 100)) db.set(k, "w"); // garbage, and a journal no longer in key order
    assert.equal([...db.rangeKeys()].length, 300, "the ordered index is built");
    await db.compact();
    assert.deepEqual([...db.rangeKeys({ limit: 3 })], ["k000", "k001", "k002"], "range() still walks key order");
  }
  // Which key each PUT of the new file is, from its lookup tag.
  const tagger = new RecordCrypto(new Keyring(KEY, "aes-256-gcm", undefined), new Uint8Array(16));
  const byTag = new Map<string, string>();
  const tag = new Uint8Array(16);
  for (const k of keys) {
    const b = new TextEncoder().encode(k);
    tagger.tagInto(0, b, 0, b.length, tag, 0);
    byTag.set(tag.join(), k);
  }
  const bytes = readFileSync(path);
  const order = records(bytes).filter((r) => r.kind === 1).map((r) => {
    const ks = r.off + 16 + (r.flags & 1 ? 8 : 0) + (r.flags & 2 ? 8 : 0);
    return byTag.get([...bytes.subarray(ks, ks + 16)].join())!;
  });
  assert.equal(order.length, 300);
  assert.deepEqual([...order].sort(), keys, "every key once");
  assert.notDeepEqual(order, keys, "the file's order is not the keys' order");
});

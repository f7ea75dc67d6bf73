/**
 * The in-memory I/O backend: journals and side files live in JavaScript
 * memory. It backs `Emdb.openInMemory()` (no file, no lock) and, with its
 * fault switches, lets tests tear a write after N bytes or fail a sync.
 *
 * Growth copies into a larger buffer; views handed out earlier keep the old
 * buffer alive and stay readable (records are immutable), so nothing a reader
 * holds is ever invalidated. The memory is a `SharedArrayBuffer`, which cannot
 * be transferred or detached: a user who moves a view's buffer away (a
 * `postMessage` transfer list) cannot take the store's bytes with it, and views
 * stay readable (the bytes they saw) after close. Old buffers are only referenced weakly here: one
 * no view reaches any more is garbage (a 499 MiB store used to keep 1 GiB of
 * them until close), and `retire` detaches those still alive.
 *
 * @module
 */
import { EmdbError } from "../errors.ts";
import { detach } from "./detach.ts";
import type { Io, JournalFile, LockAttempt, ReclaimResult } from "./io.ts";

/** Faults a test can switch on. */
export interface MemoryFaults {
  /** Total bytes the journal accepts before a write is torn and throws `EIO`. */
  tearAfterBytes?: number;
  /** When true, `sync()` throws `EIO`. */
  failSync?: boolean;
}

const MAX_MEMORY_JOURNAL = 2 ** 31;

/** Zeroed bytes in a SharedArrayBuffer (not transferable, so no user can move them away). */
function sharedBytes(n: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(n));
}

class MemoryJournal implements JournalFile {
  readonly path: string | undefined;
  #bytes: Uint8Array;
  #size: number;
  #windows: Uint8Array[];
  #generation = 0;
  #faults: MemoryFaults;
  #written = 0;
  #store: (bytes: Uint8Array) => void;
  /** Earlier buffers views were handed out from, so `retire` can detach those still reachable. */
  #old: WeakRef<ArrayBuffer>[] = [];

  constructor(
    path: string | undefined,
    initial: Uint8Array,
    size: number,
    faults: MemoryFaults,
    store: (b: Uint8Array) => void,
  ) {
    this.path = path;
    this.#bytes = initial;
    this.#size = size;
    this.#windows = [this.#bytes.subarray(0, this.#size)];
    this.#faults = faults;
    this.#store = store;
  }

  get size(): number {
    return this.#size;
  }
  /** Memory has no holes. */
  get readableEnd(): number {
    return this.#size;
  }
  get windows(): readonly Uint8Array[] {
    return this.#windows;
  }
  /** Shared memory cannot be detached: nothing to refresh. */
  refresh(): void {}
  get generation(): number {
    return this.#generation;
  }

  #publish(): void {
    this.#windows = [this.#bytes.subarray(0, this.#size)];
    this.#generation++;
    this.#store(this.#windows[0]!);
  }

  write(data: Uint8Array, offset: number): void {
    const end = offset + data.byteLength;
    if (end > this.#size) this.grow(end);
    const limit = this.#faults.tearAfterBytes;
    if (limit !== undefined && this.#written + data.byteLength > limit) {
      const keep = Math.max(0, limit - this.#written);
      this.#bytes.set(data.subarray(0, keep), offset);
      this.#written += keep;
      throw new EmdbError("IO", "Cannot pwrite (in memory): EIO (injected fault)", { errno: "EIO", syscall: "pwrite" });
    }
    this.#bytes.set(data, offset);
    this.#written += data.byteLength;
  }

  writeRecord(data: Uint8Array, offset: number): void {
    this.write(data, offset);
  }

  /** The file was renamed: store the content under the new name from now on. */
  moveTo(store: (bytes: Uint8Array) => void): void {
    this.#store = store;
    store(this.#windows[0] ?? this.#bytes.subarray(0, this.#size));
  }

  sync(): void {
    if (this.#faults.failSync) {
      throw new EmdbError("IO", "Cannot fdatasync (in memory): EIO (injected fault)", {
        errno: "EIO",
        syscall: "fdatasync",
      });
    }
  }

  syncAsync(): Promise<void> {
    return Promise.resolve(this.sync());
  }

  grow(size: number): void {
    if (size <= this.#size) return;
    if (size > MAX_MEMORY_JOURNAL) {
      throw new EmdbError("FULL", `Cannot grow an in-memory journal past ${MAX_MEMORY_JOURNAL} bytes`);
    }
    if (size > this.#bytes.byteLength) {
      const bigger = sharedBytes(Math.min(MAX_MEMORY_JOURNAL, Math.max(size, this.#bytes.byteLength * 2)));
      bigger.set(this.#bytes.subarray(0, this.#size));
      this.#replace(bigger);
    }
    this.#size = size;
    this.#publish();
  }

  truncate(size: number): void {
    if (size > this.#size) return this.grow(size);
    // Copy so that views handed out earlier keep their bytes.
    const copy = sharedBytes(Math.max(size, 64));
    copy.set(this.#bytes.subarray(0, size));
    this.#replace(copy);
    this.#size = size;
    this.#publish();
  }

  /** Makes `next` the current buffer; the previous one is only kept alive by views still over it. */
  #replace(next: Uint8Array): void {
    this.#old = this.#old.filter((w) => w.deref() !== undefined);
    this.#old.push(new WeakRef(this.#bytes.buffer as ArrayBuffer));
    this.#bytes = next;
  }

  retire(): void {
    // Keep the content (in a buffer no view shares) for a later open, then
    // honour the mapped-file contract: every view handed out reads as length 0.
    const keep = this.#bytes.slice(0, this.#size);
    for (const w of this.#old) {
      const buf = w.deref();
      if (buf !== undefined) detach(buf);
    }
    detach(this.#bytes.buffer as ArrayBuffer);
    this.#old = [];
    this.#bytes = keep;
    this.#windows = [];
    this.#generation++;
    this.#store(keep);
  }

  close(): void {}
}

/** An {@linkcode Io} whose files live in a `Map`. */
export class MemoryIo implements Io {
  readonly kind = "memory";
  /** Files by path. */
  readonly files: Map<string, Uint8Array> = new Map();
  /** Fault switches, read at every write and sync. */
  readonly faults: MemoryFaults;
  #locks = new Set<string>();
  #journals = new Map<string, MemoryJournal>();

  /**
   * Creates an empty in-memory file system.
   *
   * @param faults Optional fault injection switches.
   */
  constructor(faults: MemoryFaults = {}) {
    this.faults = faults;
  }

  openJournal(path: string, create: boolean, _writeThrough = false): JournalFile | undefined {
    const existing = this.files.get(path);
    if (existing === undefined && !create) return undefined;
    const initial = sharedBytes(Math.max(4096, existing?.byteLength ?? 0));
    if (existing) initial.set(existing);
    const journal = new MemoryJournal(path, initial, existing?.byteLength ?? 0, this.faults, (b) => {
      this.files.set(path, b);
    });
    this.files.set(path, journal.windows[0]!);
    this.#journals.set(path, journal);
    return journal;
  }

  tryLock(lockPath: string): LockAttempt {
    if (this.#locks.has(lockPath)) return { ok: false, errno: "EAGAIN" };
    this.#locks.add(lockPath);
    let held = true;
    return {
      ok: true,
      handle: {
        release: () => {
          if (held) this.#locks.delete(lockPath);
          held = false;
        },
      },
    };
  }

  /** Locks in memory belong to live handles only. */
  reclaimLock(): ReclaimResult {
    return "unknown";
  }

  /** Memory needs no permission. */
  checkAccess(_path: string): void {}

  realPath(path: string): string {
    return path;
  }

  statKind(path: string): "file" | "other" | undefined {
    if (this.files.has(path)) return "file";
    // Folders are implied by the files in them ("other", like a folder on disk).
    const dir = path.endsWith("/") ? path : `${path}/`;
    for (const f of this.files.keys()) if (f.startsWith(dir)) return "other";
    return undefined;
  }

  readFile(path: string): Uint8Array | undefined {
    const f = this.files.get(path);
    return f === undefined ? undefined : f.slice();
  }

  writeFileAtomic(path: string, data: Uint8Array): void {
    this.files.set(path, data.slice());
  }

  writeFileDurable(path: string, data: Uint8Array): void {
    this.files.set(path, data.slice());
  }

  remove(path: string): void {
    this.files.delete(path);
  }

  rename(from: string, to: string): void {
    const f = this.files.get(from);
    if (f === undefined) {
      throw new EmdbError("IO", `Cannot rename "${from}": ENOENT`, { errno: "ENOENT", syscall: "rename", path: from });
    }
    this.files.delete(from);
    this.files.set(to, f);
    const journal = this.#journals.get(from);
    if (journal !== undefined) {
      this.#journals.delete(from);
      this.#journals.set(to, journal);
      journal.moveTo((b) => this.files.set(to, b));
    }
  }

  makeDirectory(_path: string): void {}

  syncDirectory(_path: string): void {}
}

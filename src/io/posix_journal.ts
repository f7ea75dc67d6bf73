/**
 * A journal file mapped into memory on Linux and macOS.
 *
 * Memory layout. Each region is an address range reserved far larger than
 * the file as an anonymous, read-only, zero-filled mapping
 * (`MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE`, no memory cost). The file's
 * pages are mapped over it with `MAP_FIXED|MAP_SHARED`, so every byte of the
 * range is always readable: file pages show the file, everything else (past
 * the end of the file, and holes) reads as zeros. This is what makes it safe:
 *
 * - wrappers (the ArrayBuffers over the mapping) are made rarely: each covers
 *   what the file needs rounded up to a power of two (at least 16 MiB), so a
 *   growth usually maps the new pages and makes new `Uint8Array`s over the same
 *   buffer, and a window gets at most a handful of wrappers. A wrapper per
 *   growth, each kept until close, slowed Deno over tenfold with
 *   `preallocateBytes: 0` (external memory its GC accounts for); wrappers of
 *   twice the need or more (the whole reservation, or 64 MiB minimum) cost Bun
 *   30–45% more CPU on single sets (measured; JSC's cause not pinned down);
 * - a view's `buffer` read past the end of the file reads zeros, never SIGBUS;
 * - holes (sparse space left by `ftruncate` after `ENOSPC`, or found with
 *   `lseek(SEEK_HOLE)` at open) stay anonymous zero pages until data is
 *   written there: on a full tmpfs, reading a file hole through a mapping
 *   allocates a page and faults with SIGBUS when there is none;
 * - shrinking the file first turns the pages past the new end back into
 *   zero pages, so nothing a reader holds can fault.
 *
 * When the file outgrows its region, a larger region is made; older ones stay
 * valid (views handed out earlier keep reading their bytes) until `retire()`.
 *
 * Retirement (close): every wrapper is detached (`transfer(0)`), so every view
 * emdb handed out reads as length 0. A wrapper found already detached was
 * transferred by someone else (`postMessage` with a transfer list,
 * `buffer.transfer()`): the new owner aliases the mapping, so that region is
 * never unmapped but replaced by an anonymous read-only zero mapping, which a
 * transferred buffer reads as zeros instead of faulting. Regions whose every
 * wrapper emdb detached itself are unmapped (no alias can exist), so opening
 * and closing databases does not use up address space.
 *
 * Mapped writes (Linux): a second, writable `MAP_SHARED` view of the file in
 * its own region lets `writeRecord` copy a small frame into the page cache
 * with no system call, only inside `fallocate`d space (a store into a hole of
 * a full file system would be SIGBUS). Users only ever see the read-only view.
 *
 * The journal is locked (`flock`) through its own descriptor, which is never
 * mapped: a mapping keeps its open file description alive, and with it any
 * `flock` taken through it, after the descriptor is closed (as Deno closes a
 * terminated Worker's descriptors while its mappings stay).
 *
 * @module
 */
import * as fs from "node:fs";
import { binder, type PosixConstants } from "../../ffi/mod.ts";
import { EmdbError } from "../errors.ts";
import { fsError } from "./node_files.ts";
import { detach, isDetached } from "./detach.ts";
import { type JournalFile, MAX_FRAME_BYTES, WINDOW_BYTES } from "./io.ts";
import { EINTR, type Libc, loadLibc, osError } from "./libc_binding.ts";

/** One reserved address range and the wrappers made over it. */
interface Region {
  addr: number;
  /** The writable view of the same file, or 0. */
  rwAddr: number;
  reserved: number;
  /** `[0, cover)` holds the file (page-aligned; except the journal's holes); past it, zeros. */
  cover: number;
  /** The wrappers of each window, smallest first; the last one is in use. */
  ro: ArrayBuffer[][];
  rw: ArrayBuffer[][];
}

const MIN_RESERVE = 1024 * 1024 * 1024;
/** The smallest wrapper made. */
const MIN_WRAP = 16 * 1024 * 1024;

function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** A journal file of the POSIX backend. */
export class PosixJournal implements JournalFile {
  readonly path: string;
  readonly readableEnd: number;
  #fd: number;
  /** The journal's lock: a second descriptor of the file, never mapped. */
  #lockFd: number;
  #size: number;
  /** Page-aligned end of what the current region covers. */
  #cover: number;
  /** Page-aligned ranges below `cover` that are holes, mapped as zeros. */
  #holes: [number, number][] = [];
  #regions: Region[] = [];
  #windows: Uint8Array[] = [];
  #rwWindows: Uint8Array[] = [];
  #rwStale = true;
  #generation = 0;
  /** True while every byte of `[0, size)` is allocated on disk (mapped writes are safe). */
  #mappedWrites: boolean;
  #libc: Libc;
  #c: PosixConstants;
  #page: number;
  #retired = false;

  /**
   * Maps an open journal.
   *
   * @param path The file's path.
   * @param fd A read-write descriptor, used for writes and mappings; owned from now on.
   * @param lockFd A second descriptor that holds the journal's `flock`; owned from now on.
   * @param size The file's size.
   * @param writeThrough Whether `fd` was opened with `O_DSYNC` (then no write goes through a mapping).
   */
  constructor(path: string, fd: number, lockFd: number, size: number, writeThrough = false) {
    const { libc, c } = loadLibc();
    this.path = path;
    this.#fd = fd;
    this.#lockFd = lockFd;
    this.#size = size;
    this.#libc = libc;
    this.#c = c;
    this.#page = libc.pageSize > 0 ? libc.pageSize : 4096;
    // O_DSYNC covers write(2), not stores into a mapping: with write-through every write is a pwrite.
    this.#mappedWrites = binder.os === "linux" && libc.fallocate !== undefined && !writeThrough;
    this.#cover = this.#pageCeil(size);
    this.readableEnd = this.#scanHoles();
    this.#rewrap();
  }

  get size(): number {
    return this.#size;
  }

  get windows(): readonly Uint8Array[] {
    return this.#windows;
  }

  get generation(): number {
    return this.#generation;
  }

  #pageCeil(n: number): number {
    return Math.ceil(n / this.#page) * this.#page;
  }

  #pageFloor(n: number): number {
    return Math.floor(n / this.#page) * this.#page;
  }

  /** Finds the file's holes (`lseek` `SEEK_HOLE`/`SEEK_DATA`); returns where the first starts. */
  #scanHoles(): number {
    const size = this.#size;
    if (size === 0) return 0;
    const { lseek } = this.#libc;
    const c = this.#c;
    const first = lseek(this.#fd, 0, c.SEEK_HOLE);
    if (first < 0 || first >= size) return size;
    let start = first;
    for (let n = 0; n < 4096 && start < size; n++) {
      let data = lseek(this.#fd, start, c.SEEK_DATA);
      if (data < 0 || data > size) data = size; // ENXIO: no data after `start`
      const a = this.#pageCeil(start);
      const b = data >= size ? this.#pageCeil(size) : this.#pageFloor(data);
      if (b > a) this.#holes.push([a, b]);
      if (data >= size) break;
      const next = lseek(this.#fd, data, c.SEEK_HOLE);
      if (next < 0) break;
      start = next;
    }
    return first;
  }

  #mmapAt(addr: number, len: number, prot: number, flags: number, fd: number, off: number): void {
    if (len <= 0) return;
    const got = this.#libc.mmap(addr, len, prot, flags | this.#c.MAP_FIXED, fd, off);
    if (got !== addr) throw osError(this.#libc, "mmap", this.path);
  }

  /** Maps file bytes `[from, to)` (page-aligned) into a region. */
  #mapFile(r: Region, from: number, to: number): void {
    const c = this.#c;
    this.#mmapAt(r.addr + from, to - from, c.PROT_READ, c.MAP_SHARED, this.#fd, from);
    if (r.rwAddr !== 0) {
      this.#mmapAt(r.rwAddr + from, to - from, c.PROT_READ | c.PROT_WRITE, c.MAP_SHARED, this.#fd, from);
    }
  }

  /** Turns `[from, to)` (page-aligned) of a region back into zero pages. */
  #mapZeros(r: Region, from: number, to: number): void {
    const c = this.#c;
    const flags = c.MAP_PRIVATE | c.MAP_ANONYMOUS | c.MAP_NORESERVE;
    this.#mmapAt(r.addr + from, to - from, c.PROT_READ, flags, -1, 0);
    if (r.rwAddr !== 0) this.#mmapAt(r.rwAddr + from, to - from, c.PROT_READ, flags, -1, 0);
  }

  /** Maps `[from, to)` of a region from the file, leaving the holes as zeros. */
  #mapFileSkippingHoles(r: Region, from: number, to: number): void {
    let at = from;
    for (const [a, b] of this.#holes) {
      if (b <= at || a >= to) continue;
      this.#mapFile(r, at, Math.max(at, a));
      at = Math.max(at, b);
    }
    this.#mapFile(r, at, Math.max(at, to));
  }

  #reserve(len: number): number {
    const c = this.#c;
    const flags = c.MAP_PRIVATE | c.MAP_ANONYMOUS | c.MAP_NORESERVE;
    const addr = this.#libc.mmap(0, len, c.PROT_READ, flags, -1, 0);
    if (addr === -1 || addr === 0) throw osError(this.#libc, "mmap", this.path);
    return addr;
  }

  /** The current region, replaced by a larger one when the file has outgrown it. */
  #region(): Region {
    const current = this.#regions[this.#regions.length - 1];
    if (current !== undefined && current.reserved >= this.#cover) return current;
    const reserved = Math.max(MIN_RESERVE, nextPowerOfTwo(this.#size * 2), this.#cover);
    const region: Region = { addr: this.#reserve(reserved), rwAddr: 0, reserved, cover: 0, ro: [], rw: [] };
    try {
      if (this.#mappedWrites) region.rwAddr = this.#reserve(reserved);
    } catch {
      this.#mappedWrites = false;
    }
    try {
      this.#mapFileSkippingHoles(region, 0, this.#cover);
    } catch (e) {
      this.#libc.munmap(region.addr, reserved);
      if (region.rwAddr !== 0) this.#libc.munmap(region.rwAddr, reserved);
      throw e;
    }
    region.cover = this.#cover;
    this.#regions.push(region);
    return region;
  }

  /** A view of window `k` over `[0, size)`, on a wrapper long enough (made when the last one is too short). */
  #view(r: Region, k: number, rw: boolean): Uint8Array {
    const lists = rw ? r.rw : r.ro;
    const list = lists[k] ??= [];
    const start = k * WINDOW_BYTES;
    const need = Math.min(this.#size - start, WINDOW_BYTES + MAX_FRAME_BYTES);
    let ab = list[list.length - 1];
    if (ab === undefined || ab.byteLength < need) {
      const span = Math.min(r.reserved - start, WINDOW_BYTES + MAX_FRAME_BYTES);
      ab = binder.wrap((rw ? r.rwAddr : r.addr) + start, Math.min(span, Math.max(MIN_WRAP, nextPowerOfTwo(need))));
      list.push(ab);
    }
    return new Uint8Array(ab, 0, need);
  }

  refresh(): void {
    if (this.#windows.some((w) => w.byteLength === 0)) this.#rewrap();
  }

  /** New views over `[0, size)`, mostly over the same wrappers; views handed out earlier stay valid. */
  #rewrap(): void {
    const windows: Uint8Array[] = [];
    if (this.#size > 0 && !this.#retired) {
      const r = this.#region();
      for (let k = 0; k * WINDOW_BYTES < this.#size; k++) windows.push(this.#view(r, k, false));
    }
    this.#windows = windows;
    this.#rwStale = true;
    this.#generation++;
  }

  /** Records that the file now ends at `size`, its new space allocated (`sparse` false) or a hole. */
  #extended(size: number, sparse: boolean): void {
    const from = this.#cover;
    const to = this.#pageCeil(size);
    this.#size = size;
    if (to > from) {
      if (sparse) {
        const last = this.#holes[this.#holes.length - 1];
        if (last !== undefined && last[1] === from) last[1] = to;
        else this.#holes.push([from, to]);
      }
      this.#cover = to;
      const r = this.#regions[this.#regions.length - 1];
      if (r !== undefined && r.reserved >= to && !this.#retired) {
        if (!sparse) this.#mapFile(r, Math.max(r.cover, from), to);
        r.cover = to;
      }
    }
    this.#rewrap();
  }

  /** Maps the pages of `[from, to)` that were holes: data was just written there. */
  #filled(from: number, to: number): void {
    const a = this.#pageFloor(from);
    const b = this.#pageCeil(to);
    const r = this.#regions[this.#regions.length - 1];
    const kept: [number, number][] = [];
    for (const h of this.#holes) {
      if (h[1] <= a || h[0] >= b) {
        kept.push(h);
        continue;
      }
      const lo = Math.max(h[0], a);
      const hi = Math.min(h[1], b);
      if (r !== undefined && !this.#retired) this.#mapFile(r, lo, hi);
      if (h[0] < lo) kept.push([h[0], lo]);
      if (hi < h[1]) kept.push([hi, h[1]]);
    }
    this.#holes = kept;
  }

  write(data: Uint8Array, offset: number): void {
    let done = 0;
    const total = data.byteLength;
    while (done < total) {
      const part = done === 0 ? data : data.subarray(done);
      const n = this.#libc.pwrite(this.#fd, part, total - done, offset + done);
      if (n < 0) {
        if (this.#libc.errno() === EINTR) continue;
        throw osError(this.#libc, "pwrite", this.path);
      }
      if (n === 0) throw new EmdbError("IO", `Cannot pwrite "${this.path}": no progress`, { path: this.path });
      done += n;
    }
    const end = offset + total;
    if (this.#holes.length > 0) this.#filled(offset, Math.min(end, this.#cover));
    if (end > this.#size) this.#extended(end, false);
  }

  writeRecord(data: Uint8Array, offset: number): void {
    const n = data.byteLength;
    // Never into a hole: it may be sparse (a store there faults on a full disk).
    if (this.#mappedWrites && this.#holes.length === 0 && offset + n <= this.#size) {
      if (this.#rwStale) this.#wrapWritable();
      const k = Math.floor(offset / WINDOW_BYTES);
      const w = this.#rwWindows[k];
      if (w !== undefined && offset - k * WINDOW_BYTES + n <= w.length) {
        w.set(data, offset - k * WINDOW_BYTES);
        return;
      }
    }
    this.write(data, offset);
  }

  #wrapWritable(): void {
    this.#rwWindows = [];
    this.#rwStale = false;
    const r = this.#regions[this.#regions.length - 1];
    if (r === undefined || r.rwAddr === 0 || this.#retired) return;
    for (let k = 0; k * WINDOW_BYTES < this.#size; k++) this.#rwWindows.push(this.#view(r, k, true));
  }

  sync(): void {
    for (;;) {
      if (this.#libc.datasync(this.#fd) === 0) return;
      if (this.#libc.errno() !== EINTR) throw osError(this.#libc, "fdatasync", this.path);
    }
  }

  syncAsync(): Promise<void> {
    // F_FULLFSYNC (macOS) is only reachable through FFI: sync in place there.
    if (binder.os !== "linux") return Promise.resolve(this.sync());
    return new Promise((resolve, reject) => {
      fs.fdatasync(this.#fd, (e) => (e ? reject(fsError(e, "fdatasync", this.path)) : resolve()));
    });
  }

  grow(size: number): void {
    if (size <= this.#size) return;
    const fa = this.#libc.fallocate;
    let sparse = false;
    if (fa === undefined || fa(this.#fd, 0, this.#size, size - this.#size) !== 0) {
      if (this.#libc.ftruncate(this.#fd, size) !== 0) throw osError(this.#libc, "ftruncate", this.path);
      // The new space is a hole: a store into it could fault on a full disk.
      sparse = true;
      this.#mappedWrites = false;
    }
    this.#extended(size, sparse);
  }

  truncate(size: number): void {
    if (size > this.#size) return this.grow(size);
    const cover = this.#pageCeil(size);
    // Pages past the new end become zero pages before the file shrinks: a
    // file page past the end of the file faults (SIGBUS) when read.
    for (const r of this.#regions) {
      if (r.cover > cover) {
        this.#mapZeros(r, cover, Math.min(r.cover, r.reserved));
        r.cover = cover;
      }
    }
    this.#holes = this.#holes.filter((h) => h[0] < cover).map(([a, b]) => [a, Math.min(b, cover)]);
    if (this.#libc.ftruncate(this.#fd, size) !== 0) throw osError(this.#libc, "ftruncate", this.path);
    this.#size = size;
    this.#cover = cover;
    this.#rewrap();
  }

  retire(): void {
    this.#retired = true;
    for (const r of this.#regions) {
      this.#release(r.addr, r.reserved, r.ro);
      if (r.rwAddr !== 0) this.#release(r.rwAddr, r.reserved, r.rw);
    }
    this.#regions = [];
    this.#windows = [];
    this.#rwWindows = [];
    this.#generation++;
  }

  /** Detaches a region's wrappers, then unmaps it, or leaves zeros where a transferred buffer may still read. */
  #release(addr: number, len: number, wrappers: ArrayBuffer[][]): void {
    let aliased = false;
    for (const ab of wrappers.flat()) {
      if (isDetached(ab)) aliased = true; // transferred by someone else: its new owner reads this memory
      else if (!detach(ab)) aliased = true;
    }
    if (!aliased && this.#libc.munmap(addr, len) === 0) return;
    const c = this.#c;
    const flags = c.MAP_PRIVATE | c.MAP_ANONYMOUS | c.MAP_FIXED | c.MAP_NORESERVE;
    this.#libc.mmap(addr, len, c.PROT_READ, flags, -1, 0);
  }

  close(): void {
    if (this.#fd < 0) return;
    if (this.#regions.length > 0) this.retire();
    try {
      fs.closeSync(this.#fd);
    } finally {
      this.#fd = -1;
      try {
        fs.closeSync(this.#lockFd);
      } catch {
        // Already closed: nothing holds the lock.
      }
    }
  }
}

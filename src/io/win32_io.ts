/**
 * The Windows I/O backend: kernel32 HANDLEs end to end. Written and
 * type-checked on every run; NOT exercised by the test suite (only Linux is
 * tested here — see the README).
 *
 * - Positional writes: `WriteFile` with an OVERLAPPED carrying the offset.
 * - Durability: `FlushFileBuffers`.
 * - Growth: `SetFileInformationByHandle(FileEndOfFileInfo)` (zero-filled).
 * - Lock: `LockFileEx(EXCLUSIVE | FAIL_IMMEDIATELY)` on `<path>.lock`, never on
 *   the journal (Windows locks are mandatory and would block our own reads).
 * - Memory: a section (`CreateFileMappingW`) of the whole file mapped read-only
 *   with `MapViewOfFileEx`. A section cannot extend past the file, so each
 *   growth maps a new, larger view (and wraps it anew); older views stay
 *   mapped until `close()`. Shrinking (only at open or after `retire`) unmaps
 *   first, because Windows refuses to truncate a mapped file.
 * - Retirement: every wrapper is detached; a view whose wrapper was found
 *   already detached (transferred by someone else, who may still read it) is
 *   never unmapped: it keeps showing the old bytes rather than faulting.
 * - Holes are not looked for (`readableEnd` is the size), and locks a
 *   terminated Worker left are not reclaimed (`reclaimLock` says `unknown`).
 *
 * @module
 */
import * as fs from "node:fs";
import { binder, errnoName, KERNEL32, KERNEL32_CANDIDATES, WIN32 } from "../../ffi/mod.ts";
import type { BoundLibrary } from "../../ffi/mod.ts";
import { EmdbError } from "../errors.ts";
import { detach, isDetached } from "./detach.ts";
import {
  type Io,
  type JournalFile,
  type LockAttempt,
  MAX_FRAME_BYTES,
  type ReclaimResult,
  WINDOW_BYTES,
} from "./io.ts";
import { ffiError } from "./libc_binding.ts";
import { fsError, NodeFiles } from "./node_files.ts";

type K32 = BoundLibrary<typeof KERNEL32>;
let k32: K32 | undefined;

function lib(): K32 {
  if (k32) return k32;
  const override = binder.env("EMDB_KERNEL32");
  try {
    k32 = binder.open(override ? [override] : KERNEL32_CANDIDATES, KERNEL32);
  } catch (e) {
    throw ffiError(e);
  }
  return k32;
}

function wide(s: string): Uint8Array {
  const out = new Uint8Array((s.length + 1) * 2);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out[2 * i] = c & 0xff;
    out[2 * i + 1] = c >>> 8;
  }
  return out;
}

function winError(syscall: string, path: string | undefined): EmdbError {
  const name = errnoName("windows", lib().GetLastError());
  return new EmdbError("IO", `Cannot ${syscall}${path ? ` "${path}"` : ""}: ${name}`, { errno: name, syscall, path });
}

function overlapped(offset: number): Uint8Array {
  const ov = new Uint8Array(32);
  const dv = new DataView(ov.buffer);
  dv.setUint32(16, offset % 2 ** 32, true);
  dv.setUint32(20, Math.floor(offset / 2 ** 32), true);
  return ov;
}

function openHandle(path: string, disposition: number, flags = 0): number {
  const k = lib();
  const access = WIN32.GENERIC_READ | WIN32.GENERIC_WRITE;
  const share = WIN32.FILE_SHARE_READ | WIN32.FILE_SHARE_WRITE | WIN32.FILE_SHARE_DELETE;
  const attributes = (WIN32.FILE_ATTRIBUTE_NORMAL | flags) >>> 0;
  return k.CreateFileW(wide(path), access >>> 0, share, 0, disposition, attributes, 0);
}

interface View {
  section: number;
  addr: number;
  wrappers: ArrayBuffer[];
}

class Win32Journal implements JournalFile {
  readonly path: string;
  readonly readableEnd: number;
  #h: number;
  #size: number;
  #views: View[] = [];
  #windows: Uint8Array[] = [];
  #generation = 0;
  #retired = false;

  constructor(path: string, handle: number) {
    this.path = path;
    this.#h = handle;
    const out = new Uint8Array(8);
    if (!lib().GetFileSizeEx(handle, out)) throw winError("GetFileSizeEx", path);
    const dv = new DataView(out.buffer);
    this.#size = dv.getUint32(0, true) + dv.getUint32(4, true) * 2 ** 32;
    this.readableEnd = this.#size;
    this.#remap();
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

  refresh(): void {
    if (this.#windows.some((w) => w.byteLength === 0)) this.#remap();
  }

  #remap(): void {
    const windows: Uint8Array[] = [];
    if (this.#size > 0 && !this.#retired) {
      const k = lib();
      const hi = Math.floor(this.#size / 2 ** 32);
      const lo = this.#size % 2 ** 32;
      const section = k.CreateFileMappingW(this.#h, 0, WIN32.PAGE_READONLY, hi, lo, 0);
      if (section === 0) throw winError("CreateFileMappingW", this.path);
      const addr = k.MapViewOfFileEx(section, WIN32.FILE_MAP_READ, 0, 0, this.#size, 0);
      if (addr === 0) throw winError("MapViewOfFileEx", this.path);
      const view: View = { section, addr, wrappers: [] };
      for (let start = 0; start < this.#size; start += WINDOW_BYTES) {
        const ab = binder.wrap(addr + start, Math.min(this.#size - start, WINDOW_BYTES + MAX_FRAME_BYTES));
        view.wrappers.push(ab);
        windows.push(new Uint8Array(ab));
      }
      this.#views.push(view);
    }
    this.#windows = windows;
    this.#generation++;
  }

  write(data: Uint8Array, offset: number): void {
    const k = lib();
    const written = new Uint32Array(1);
    let done = 0;
    while (done < data.byteLength) {
      const n = Math.min(data.byteLength - done, 0x40000000);
      const part = data.subarray(done, done + n);
      if (!k.WriteFile(this.#h, part, n, new Uint8Array(written.buffer), overlapped(offset + done))) {
        throw winError("WriteFile", this.path);
      }
      done += written[0]!;
    }
  }

  writeRecord(data: Uint8Array, offset: number): void {
    this.write(data, offset);
  }

  sync(): void {
    if (!lib().FlushFileBuffers(this.#h)) throw winError("FlushFileBuffers", this.path);
  }

  syncAsync(): Promise<void> {
    return Promise.resolve(this.sync());
  }

  #setEnd(size: number): void {
    const info = new Uint8Array(8);
    const dv = new DataView(info.buffer);
    dv.setUint32(0, size % 2 ** 32, true);
    dv.setUint32(4, Math.floor(size / 2 ** 32), true);
    if (!lib().SetFileInformationByHandle(this.#h, WIN32.FILE_END_OF_FILE_INFO, info, 8)) {
      throw winError("SetFileInformationByHandle", this.path);
    }
    this.#size = size;
  }

  grow(size: number): void {
    if (size <= this.#size) return;
    this.#setEnd(size);
    this.#remap();
  }

  truncate(size: number): void {
    const retired = this.#retired;
    this.#unmapAll();
    this.#setEnd(size);
    this.#retired = retired;
    this.#remap();
  }

  #unmapAll(): void {
    const k = lib();
    for (const v of this.#views) {
      let aliased = false;
      for (const ab of v.wrappers) {
        if (isDetached(ab) || !detach(ab)) aliased = true;
      }
      // A view someone else may still read through stays mapped for the life of the process.
      if (!aliased) k.UnmapViewOfFile(v.addr);
      k.CloseHandle(v.section);
    }
    this.#views = [];
    this.#windows = [];
    this.#generation++;
  }

  retire(): void {
    this.#retired = true;
    this.#unmapAll();
  }

  close(): void {
    if (this.#h === 0) return;
    this.retire();
    lib().CloseHandle(this.#h);
    this.#h = 0;
  }
}

/** The backend for Windows. */
export class Win32Io extends NodeFiles implements Io {
  readonly kind = "win32";

  protected override loadNative(): void {
    lib();
  }

  reclaimLock(): ReclaimResult {
    return "unknown";
  }

  openJournal(path: string, create: boolean, writeThrough = false): JournalFile | undefined {
    const h = openHandle(
      path,
      create ? WIN32.OPEN_ALWAYS : WIN32.OPEN_EXISTING,
      writeThrough ? WIN32.FILE_FLAG_WRITE_THROUGH : 0,
    );
    if (h === WIN32.INVALID_HANDLE_VALUE || h === 0) {
      const err = winError("CreateFileW", path);
      if (!create && err.errno === "ENOENT") return undefined;
      throw err;
    }
    return new Win32Journal(path, h);
  }

  tryLock(lockPath: string): LockAttempt {
    const k = lib();
    const h = openHandle(lockPath, WIN32.OPEN_ALWAYS);
    if (h === WIN32.INVALID_HANDLE_VALUE || h === 0) throw winError("CreateFileW", lockPath);
    const flags = WIN32.LOCKFILE_EXCLUSIVE_LOCK | WIN32.LOCKFILE_FAIL_IMMEDIATELY;
    if (!k.LockFileEx(h, flags, 0, 0xffffffff, 0xffffffff, new Uint8Array(32))) {
      const code = k.GetLastError();
      k.CloseHandle(h);
      return { ok: false, errno: code === WIN32.ERROR_LOCK_VIOLATION ? "EAGAIN" : errnoName("windows", code) };
    }
    let held = true;
    return {
      ok: true,
      handle: {
        release(): void {
          if (!held) return;
          held = false;
          k.UnlockFileEx(h, 0, 0xffffffff, 0xffffffff, new Uint8Array(32));
          k.CloseHandle(h);
        },
      },
    };
  }

  override writeFileDurable(path: string, data: Uint8Array): void {
    try {
      const fd = fs.openSync(path, "w");
      try {
        fs.writeSync(fd, data);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    } catch (e) {
      throw fsError(e, "write", path);
    }
  }

  override syncDirectory(_path: string): void {
    // NTFS journals directory entries; Windows cannot open a folder for FlushFileBuffers without backup privileges.
  }
}

/**
 * kernel32's symbols used by the Windows I/O backend, as data.
 *
 * Windows uses HANDLEs end to end (no CRT descriptors): `CreateFileW` opens,
 * `WriteFile` with an OVERLAPPED offset writes, `LockFileEx` locks a separate
 * lock file (Windows locks are mandatory, so the data file itself is never
 * locked), and the journal is mapped read-only with `CreateFileMappingW` +
 * `MapViewOfFileEx` at an address the OS picks (a new view at each growth;
 * no address range is reserved ahead, unlike the POSIX backend). HANDLEs are
 * 64-bit integers (`pointer`), which is what `bun:ffi` requires. Only the
 * symbols the backend calls are declared.
 *
 * @module
 */
import type { SymbolTable } from "./types.ts";

/** kernel32.dll. */
export const KERNEL32 = {
  /** HANDLE CreateFileW(LPCWSTR name, DWORD access, DWORD share, LPSECURITY_ATTRIBUTES sa, DWORD disposition, DWORD flags, HANDLE template) */
  CreateFileW: {
    parameters: ["buffer", "u32", "u32", "pointer", "u32", "u32", "pointer"],
    result: "pointer",
  },
  /** BOOL CloseHandle(HANDLE h) */
  CloseHandle: { parameters: ["pointer"], result: "i32" },
  /** BOOL WriteFile(HANDLE h, LPCVOID buf, DWORD toWrite, LPDWORD written, LPOVERLAPPED ov) */
  WriteFile: { parameters: ["pointer", "buffer", "u32", "buffer", "buffer"], result: "i32" },
  /** BOOL FlushFileBuffers(HANDLE h) */
  FlushFileBuffers: { parameters: ["pointer"], result: "i32" },
  /** BOOL GetFileSizeEx(HANDLE h, PLARGE_INTEGER size) */
  GetFileSizeEx: { parameters: ["pointer", "buffer"], result: "i32" },
  /** BOOL SetFileInformationByHandle(HANDLE h, FILE_INFO_BY_HANDLE_CLASS cls, LPVOID info, DWORD size) — FileEndOfFileInfo sets the size */
  SetFileInformationByHandle: { parameters: ["pointer", "i32", "buffer", "u32"], result: "i32" },
  /** BOOL LockFileEx(HANDLE h, DWORD flags, DWORD reserved, DWORD lenLow, DWORD lenHigh, LPOVERLAPPED ov) */
  LockFileEx: { parameters: ["pointer", "u32", "u32", "u32", "u32", "buffer"], result: "i32" },
  /** BOOL UnlockFileEx(HANDLE h, DWORD reserved, DWORD lenLow, DWORD lenHigh, LPOVERLAPPED ov) */
  UnlockFileEx: { parameters: ["pointer", "u32", "u32", "u32", "buffer"], result: "i32" },
  /** HANDLE CreateFileMappingW(HANDLE file, LPSECURITY_ATTRIBUTES sa, DWORD protect, DWORD maxHigh, DWORD maxLow, LPCWSTR name) */
  CreateFileMappingW: { parameters: ["pointer", "pointer", "u32", "u32", "u32", "pointer"], result: "pointer" },
  /** LPVOID MapViewOfFileEx(HANDLE map, DWORD access, DWORD offHigh, DWORD offLow, SIZE_T bytes, LPVOID base) */
  MapViewOfFileEx: { parameters: ["pointer", "u32", "u32", "u32", "u64", "pointer"], result: "pointer" },
  /** BOOL UnmapViewOfFile(LPCVOID base) */
  UnmapViewOfFile: { parameters: ["pointer"], result: "i32" },
  /** DWORD GetLastError(void) */
  GetLastError: { parameters: [], result: "u32" },
} as const satisfies SymbolTable;

/** Where to look for kernel32; `EMDB_KERNEL32` overrides. */
export const KERNEL32_CANDIDATES: readonly string[] = ["kernel32.dll", "C:\\Windows\\System32\\kernel32.dll"];

/** Win32 constants used by the backend. */
export const WIN32 = {
  GENERIC_READ: 0x80000000,
  GENERIC_WRITE: 0x40000000,
  FILE_SHARE_READ: 1,
  FILE_SHARE_WRITE: 2,
  FILE_SHARE_DELETE: 4,
  OPEN_EXISTING: 3,
  OPEN_ALWAYS: 4,
  FILE_ATTRIBUTE_NORMAL: 0x80,
  FILE_FLAG_WRITE_THROUGH: 0x80000000,
  INVALID_HANDLE_VALUE: -1,
  LOCKFILE_FAIL_IMMEDIATELY: 1,
  LOCKFILE_EXCLUSIVE_LOCK: 2,
  PAGE_READONLY: 0x02,
  FILE_MAP_READ: 0x04,
  FILE_END_OF_FILE_INFO: 6,
  ERROR_LOCK_VIOLATION: 33,
} as const;

/**
 * Names for OS error numbers, per operating system.
 *
 * @module
 */
import type { HostOs } from "./types.ts";

/** errno numbers 1–34 are the same on Linux and macOS. */
const SHARED: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  3: "ESRCH",
  4: "EINTR",
  5: "EIO",
  6: "ENXIO",
  7: "E2BIG",
  8: "ENOEXEC",
  9: "EBADF",
  10: "ECHILD",
  12: "ENOMEM",
  13: "EACCES",
  14: "EFAULT",
  15: "ENOTBLK",
  16: "EBUSY",
  17: "EEXIST",
  18: "EXDEV",
  19: "ENODEV",
  20: "ENOTDIR",
  21: "EISDIR",
  22: "EINVAL",
  23: "ENFILE",
  24: "EMFILE",
  25: "ENOTTY",
  26: "ETXTBSY",
  27: "EFBIG",
  28: "ENOSPC",
  29: "ESPIPE",
  30: "EROFS",
  31: "EMLINK",
  32: "EPIPE",
  33: "EDOM",
  34: "ERANGE",
};

const LINUX: Record<number, string> = {
  ...SHARED,
  11: "EAGAIN",
  35: "EDEADLK",
  36: "ENAMETOOLONG",
  37: "ENOLCK",
  38: "ENOSYS",
  39: "ENOTEMPTY",
  40: "ELOOP",
  95: "EOPNOTSUPP",
  122: "EDQUOT",
};

const DARWIN: Record<number, string> = {
  ...SHARED,
  11: "EDEADLK",
  35: "EAGAIN",
  45: "ENOTSUP",
  62: "ELOOP",
  63: "ENAMETOOLONG",
  66: "ENOTEMPTY",
  69: "EDQUOT",
  77: "ENOLCK",
  78: "ENOSYS",
  102: "EOPNOTSUPP",
};

/** GetLastError codes, mapped to the closest POSIX name. */
const WINDOWS: Record<number, string> = {
  2: "ENOENT",
  3: "ENOENT",
  5: "EACCES",
  6: "EBADF",
  8: "ENOMEM",
  32: "EBUSY",
  33: "EAGAIN",
  39: "ENOSPC",
  80: "EEXIST",
  87: "EINVAL",
  112: "ENOSPC",
  183: "EEXIST",
};

/**
 * Names an OS error number.
 *
 * @param os The operating system that produced it.
 * @param code The errno (POSIX) or GetLastError (Windows) value.
 * @returns A name such as `ENOENT`, or `E<code>` when unknown.
 */
export function errnoName(os: HostOs, code: number): string {
  const table = os === "windows" ? WINDOWS : os === "darwin" ? DARWIN : LINUX;
  return table[code] ?? `E${code}`;
}

/**
 * Finding and closing the lock descriptors a terminated Worker left open
 * (Linux, through `/proc/self`).
 *
 * A holder inside this process is identified by the OS thread that took the
 * lock and by a random tag it set as the file position of its lock
 * descriptors (`lseek(fd, tag, SEEK_SET)`; positional I/O never uses it).
 * Once that thread has ended, no JavaScript can use those descriptors again;
 * one that still points at the same file (same device and inode) and still
 * carries the tag is provably the dead holder's, never a descriptor some live
 * code opened since (a fresh open starts at position 0, and a live holder
 * sets its own random tag).
 *
 * @module
 */
import * as fs from "node:fs";

/**
 * Whether OS thread `thread` of this process still runs.
 *
 * @param thread A thread id from `gettid()`.
 * @returns `true` or `false`, or `undefined` when this cannot be told (no
 *   `/proc`, or the runtime does not let us read it).
 */
export function threadRunning(thread: number): boolean | undefined {
  if (!(thread > 0)) return undefined;
  try {
    fs.statSync(`/proc/self/task/${thread}`);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === "ENOENT" ? false : undefined;
  }
}

function identity(path: string): string | undefined {
  try {
    const st = fs.statSync(path);
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

/**
 * The descriptors of this process that point at one of `paths` and whose file
 * position is `tag`.
 *
 * @param paths Files whose descriptors are looked for.
 * @param tag The holder's tag.
 * @returns Descriptor numbers (empty when `/proc` cannot be read).
 */
export function taggedDescriptors(paths: readonly string[], tag: number): number[] {
  const wanted = new Set(paths.map(identity).filter((x): x is string => x !== undefined));
  if (wanted.size === 0) return [];
  let names: string[];
  try {
    names = fs.readdirSync("/proc/self/fd");
  } catch {
    return [];
  }
  const found: number[] = [];
  for (const name of names) {
    const fd = Number(name);
    if (!Number.isInteger(fd) || fd < 0) continue;
    try {
      const st = fs.fstatSync(fd);
      if (!wanted.has(`${st.dev}:${st.ino}`)) continue;
      const info = fs.readFileSync(`/proc/self/fdinfo/${fd}`, "utf8");
      const pos = /^pos:\s*(\d+)$/m.exec(info);
      if (pos !== null && Number(pos[1]) === tag) found.push(fd);
    } catch {
      // Closed meanwhile, or not ours to read.
    }
  }
  return found;
}

/**
 * A random tag: an integer in [2^30, 2^31). Lock and journal descriptors are
 * only ever used with positional I/O, so their position is 0 unless tagged.
 * It stays small because `lseek` refuses a position beyond the file system's
 * largest file (`EINVAL`; ext4 with 4 KiB blocks: 16 TiB = 2^44): the earlier
 * tags, up to 2^44 + 2^40, failed that way about once in 16 locks, and such a
 * holder could not be identified after its Worker ended.
 *
 * @returns The tag.
 */
export function newTag(): number {
  const w = crypto.getRandomValues(new Uint32Array(1));
  return 2 ** 30 + (w[0]! % 2 ** 30);
}

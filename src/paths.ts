/**
 * Path handling: `string | URL` arguments and the default database location.
 *
 * The default database lives where the Rust crate puts it:
 * `<data root>/<appName>/<databaseName>` with `appName = "emdb"` and
 * `databaseName = "emdb-default.emdb"`. The data root is `dataRoot` when
 * given, else per OS: Linux and BSD `$XDG_DATA_HOME`, then
 * `$HOME/.local/share`; macOS `$HOME/Library/Application Support`; Windows
 * `%LOCALAPPDATA%`, then `%APPDATA%`, then `%USERPROFILE%\AppData\Local`; the
 * current folder as a last resort, when none of these variables is set.
 *
 * Reading those variables needs a permission under Deno (`--allow-env`, or
 * `--allow-env=XDG_DATA_HOME,HOME` on Linux). Without it the default folder
 * cannot be known, and `defaultDataRoot` throws `PERMISSION` rather than
 * silently use the current folder; in a terminal Deno asks first, once per
 * variable. Passing `dataRoot` needs no environment at all.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { join, resolve } from "node:path";
import { binder } from "../ffi/mod.ts";
import { EmdbError } from "./errors.ts";
import { isPermissionRefusal } from "./io/node_files.ts";

/**
 * Turns a path argument into an absolute file path.
 *
 * @param path A path string or a `file:` URL.
 * @returns The absolute path.
 * @throws {TypeError} For anything else, an empty string or a non-file URL.
 */
export function toFilePath(path: string | URL): string {
  if (path instanceof URL) {
    if (path.protocol !== "file:") throw new TypeError(`Database URL must use file:, got ${path.protocol}`);
    return fileURLToPath(path);
  }
  if (typeof path !== "string") throw new TypeError(`Database path must be a string or URL, got ${typeof path}`);
  if (path === "" || path.includes("\0")) throw new TypeError("Database path must be a non-empty string without NUL");
  try {
    return resolve(path);
  } catch (e) {
    // A relative path needs the current folder, which Deno reveals only with --allow-read.
    if (!isPermissionRefusal(e)) throw e;
    throw new EmdbError("PERMISSION", `Cannot resolve the database path "${path}": ${(e as Error).message}`, {
      path,
      cause: e,
    });
  }
}

function checkName(what: string, name: string, fallback: string): string {
  const v = name.trim();
  if (v === "") return fallback;
  if (v === "." || v === ".." || /[\\/]/.test(v)) {
    throw new EmdbError("INVALID_CONFIG", `Cannot use ${what} "${name}": it must be a single path segment`);
  }
  return v;
}

/**
 * The OS data folder emdb uses when no `dataRoot` is given.
 *
 * @returns An absolute folder path.
 */
export function defaultDataRoot(): string {
  const env = (k: string) => {
    if (!binder.allowed({ kind: "env", variable: k }, true)) {
      throw new EmdbError(
        "PERMISSION",
        `Cannot find the default database folder: ${binder.runtimeName} needs --allow-env to read $${k} (or --allow-env=${
          variablesRead().join(",")
        }), or pass the dataRoot option`,
      );
    }
    const v = binder.env(k);
    return v === undefined || v === "" ? undefined : v;
  };
  if (binder.os === "windows") {
    const local = env("LOCALAPPDATA") ?? env("APPDATA");
    if (local) return local;
    const profile = env("USERPROFILE");
    return profile ? join(profile, "AppData", "Local") : resolve(".");
  }
  if (binder.os === "darwin") {
    const home = env("HOME");
    return home ? join(home, "Library", "Application Support") : resolve(".");
  }
  const xdg = env("XDG_DATA_HOME");
  if (xdg) return xdg;
  const home = env("HOME");
  return home ? join(home, ".local", "share") : resolve(".");
}

/** The environment variables `defaultDataRoot` may read on this OS, in order. */
function variablesRead(): string[] {
  if (binder.os === "windows") return ["LOCALAPPDATA", "APPDATA", "USERPROFILE"];
  if (binder.os === "darwin") return ["HOME"];
  return ["XDG_DATA_HOME", "HOME"];
}

/**
 * Where the default database of an application lives.
 *
 * @param appName Folder name, default `"emdb"`.
 * @param databaseName File name, default `"emdb-default.emdb"`.
 * @param dataRoot Root folder, default {@linkcode defaultDataRoot}.
 * @returns `{ dir, file }` absolute paths.
 */
export function defaultDatabasePath(
  appName: string | undefined,
  databaseName: string | undefined,
  dataRoot: string | undefined,
): { dir: string; file: string } {
  const root = dataRoot === undefined || dataRoot.trim() === "" ? defaultDataRoot() : resolve(dataRoot);
  const dir = join(root, checkName("appName", appName ?? "", "emdb"));
  return { dir, file: join(dir, checkName("databaseName", databaseName ?? "", "emdb-default.emdb")) };
}

/**
 * The package version, written into lock holder files.
 *
 * @module
 */

/** This package's version (kept equal to `deno.json`). */
export const VERSION = "0.1.0";

/**
 * Detaching ArrayBuffers, the one step that makes every view over a buffer
 * read as length 0, on every runtime emdb loads in (`ArrayBuffer.prototype.transfer`
 * where it exists; a transferring `structuredClone` on older engines such as
 * Node 20's, whose clone is dropped at once).
 *
 * @module
 */

interface Transferable {
  readonly detached?: boolean;
  transfer?: (length?: number) => ArrayBuffer;
}

/**
 * Whether `ab` is detached.
 *
 * @param ab The buffer.
 * @returns True once every view over it reads as length 0.
 */
export function isDetached(ab: ArrayBuffer): boolean {
  const d = (ab as Transferable).detached;
  return d === undefined ? ab.byteLength === 0 : d;
}

/**
 * Detaches `ab` (a no-op when it already is).
 *
 * @param ab The buffer.
 * @returns False when the engine refused to detach it.
 */
export function detach(ab: ArrayBuffer): boolean {
  if (isDetached(ab)) return true;
  try {
    const t = ab as Transferable;
    if (typeof t.transfer === "function") t.transfer(0);
    else structuredClone(ab, { transfer: [ab] });
    return isDetached(ab);
  } catch {
    return false;
  }
}

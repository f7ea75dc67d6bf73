/**
 * Journal generations: a compaction replaces the journal file and its
 * keyspace, while iterators that started before may still read the old ones.
 * Each iterator pins the generation it started on; an old generation is
 * retired (its memory detached and replaced by zeros, its file closed) when
 * its last pin is released, or at close.
 *
 * @module
 */
import type { JournalFile } from "../io/io.ts";
import type { Keyspace } from "./keyspace.ts";

/** A journal file and the keyspace over it. */
interface Generation {
  file: JournalFile;
  ks: Keyspace;
  pins: number;
}

/** A pinned generation: what an iterator reads through, and how it lets go. */
export interface Pin {
  ks: Keyspace;
  release: () => void;
}

/** The current generation and the older ones still pinned. */
export class Generations {
  #current: Generation;
  #older: Generation[] = [];

  /** @param file The journal. @param ks Its keyspace. */
  constructor(file: JournalFile, ks: Keyspace) {
    this.#current = { file, ks, pins: 0 };
  }

  /** Pins the current generation until `release()` (idempotent). */
  pin(): Pin {
    const g = this.#current;
    g.pins++;
    let pinned = true;
    return {
      ks: g.ks,
      release: () => {
        if (!pinned) return;
        pinned = false;
        if (--g.pins === 0 && g !== this.#current) this.#retire(g);
      },
    };
  }

  /** Makes `file` and `ks` current; the old generation is retired now or when its last pin goes. */
  replace(file: JournalFile, ks: Keyspace): void {
    const old = this.#current;
    this.#current = { file, ks, pins: 0 };
    if (old.pins === 0) this.#retire(old);
    else this.#older.push(old);
  }

  /** Retires every older generation (at close; iterators then report CLOSED). Returns the first error. */
  retireOlder(): unknown {
    let error: unknown;
    for (const g of [...this.#older]) {
      try {
        this.#retire(g);
      } catch (e) {
        error ??= e;
      }
    }
    return error;
  }

  #retire(g: Generation): void {
    this.#older = this.#older.filter((x) => x !== g);
    g.ks.setWindows([]);
    try {
      g.file.retire();
    } finally {
      g.file.close();
    }
  }
}

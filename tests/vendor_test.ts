/**
 * The vendored libraries (src/vendor/) are the published packages' files, unmodified.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

for (const [folder, pkg] of [["noble_ciphers", "ciphers"], ["noble_hashes", "hashes"]] as const) {
  test(`src/vendor/${folder} is @noble/${pkg} byte for byte`, () => {
    const published = `${root}node_modules/@noble/${pkg}`;
    assert.ok(existsSync(published), `npm ci installs @noble/${pkg} (tools/package.json) for this check`);
    const version = JSON.parse(readFileSync(`${published}/package.json`, "utf8")).version;
    assert.equal(version, "2.4.0", "the version src/vendor/README.md names");
    const files = readdirSync(`${root}src/vendor/${folder}`);
    assert.ok(files.includes("LICENSE"));
    for (const f of files) {
      const ours = readFileSync(`${root}src/vendor/${folder}/${f}`);
      const theirs = readFileSync(`${published}/${f}`);
      assert.ok(ours.equals(theirs), `${folder}/${f} differs from the package's`);
    }
  });
}

/**
 * The three ways in: the Bun package (`package.json`, tried for real with a
 * consumer project and `bun add file:<repo>`), the JSR package (`deno.json`, its
 * publish file list and docs), and the manifests agreeing with each other.
 *
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { tempDir } from "./_helpers.ts";
import { REPO_ROOT, runCommand, toolOf } from "./_commands.ts";

interface PackageJson {
  name?: string;
  version?: string;
  license?: string;
  type?: string;
  private?: boolean;
  exports?: Record<string, string>;
  files?: string[];
  workspaces?: string[];
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

interface DenoJson {
  name?: string;
  version?: string;
  license?: string;
  exports?: string | Record<string, string>;
  publish?: { include?: string[]; exclude?: string[] };
}

/** Limit for the tests that run a package manager or a publisher (Bun's default is 5 s). */
const SLOW = { timeout: 300_000 };

function readJson<T>(...path: string[]): T {
  return JSON.parse(readFileSync(join(REPO_ROOT, ...path), "utf8")) as T;
}

test("package.json is the @emdb/emdb package: ES module, mod.ts exported, no dependency a consumer would install", () => {
  const pkg = readJson<PackageJson>("package.json");
  assert.equal(pkg.name, "@emdb/emdb");
  assert.equal(pkg.type, "module");
  assert.equal(pkg.exports?.["."], "./mod.ts");
  for (const field of ["dependencies", "devDependencies", "peerDependencies", "optionalDependencies"] as const) {
    assert.equal(pkg[field], undefined, `package.json has no ${field} (the dev tools live in tools/package.json)`);
  }
  for (const entry of ["mod.ts", "src/", "ffi/", "README.md", "LICENSE"]) {
    assert.ok(pkg.files?.includes(entry), `"files" lists ${entry}`);
  }
  for (const target of Object.values(pkg.exports ?? {})) {
    assert.ok(existsSync(join(REPO_ROOT, target)), `export target ${target} exists`);
  }
  const tools = readJson<PackageJson>("tools", "package.json");
  assert.deepEqual(pkg.workspaces, ["tools"]);
  assert.ok(tools.devDependencies?.deno && tools.devDependencies?.bun, "the pinned runtimes are dev tools");
});

test("deno.json and package.json agree on name, version, license and the exported entry points", () => {
  const pkg = readJson<PackageJson>("package.json");
  const deno = readJson<DenoJson>("deno.json");
  assert.equal(deno.name, pkg.name);
  assert.equal(deno.version, pkg.version);
  assert.equal(deno.license, "Apache-2.0");
  assert.equal(pkg.license, "Apache-2.0");
  assert.match(readFileSync(join(REPO_ROOT, "LICENSE"), "utf8"), /Apache License\s+Version 2\.0, January 2004/);
  const denoExports = typeof deno.exports === "string" ? { ".": deno.exports } : deno.exports ?? {};
  const npmExports = Object.fromEntries(Object.entries(pkg.exports ?? {}).filter(([k]) => k !== "./package.json"));
  assert.deepEqual(denoExports, npmExports);
});

test(
  "a Bun project adds the repository as a file: dependency offline, without the dev runtimes, imports @emdb/emdb and round-trips a value",
  SLOW,
  async (t) => {
    const bun = toolOf("bun");
    const consumer = tempDir(t);
    writeFileSync(
      join(consumer, "package.json"),
      JSON.stringify({ name: "emdb-consumer", private: true, type: "module" }, null, 2),
    );
    writeFileSync(
      join(consumer, "index.ts"),
      [
        'import { Emdb, EmdbError } from "@emdb/emdb";',
        "const path = process.argv[2]!;",
        "{",
        "  using db = Emdb.open(path);",
        '  db.set("greeting", "hello from a consumer");',
        '  db.set("bytes", new Uint8Array([1, 2, 3]));',
        "}",
        "using db = Emdb.open(path);",
        'console.log(db.getString("greeting"), Array.from(db.get("bytes") ?? []).join(","), EmdbError.name);',
        "",
      ].join("\n"),
    );
    // An unreachable registry proves the install needs none; a private cache keeps it hermetic.
    const env = {
      ...process.env,
      NO_COLOR: "1",
      BUN_CONFIG_REGISTRY: "http://127.0.0.1:9/",
      BUN_INSTALL_CACHE_DIR: join(consumer, ".bun-cache"),
    };
    const added = await runCommand(bun, ["add", `file:${REPO_ROOT}`], { cwd: consumer, env });
    assert.equal(added.code, 0, `bun add failed:\n${added.stdout}\n${added.stderr}`);

    const installed = readdirSync(join(consumer, "node_modules")).filter((n) => !n.startsWith("."));
    assert.deepEqual(installed, ["@emdb"], `only @emdb/emdb is installed, got ${installed.join(", ")}`);
    assert.ok(existsSync(join(consumer, "node_modules", "@emdb", "emdb", "mod.ts")));
    const manifest = JSON.parse(readFileSync(join(consumer, "package.json"), "utf8")) as PackageJson;
    assert.equal(manifest.dependencies?.["@emdb/emdb"], `file:${REPO_ROOT}`);

    const ran = await runCommand(bun, ["index.ts", join(consumer, "data.emdb")], { cwd: consumer, env });
    assert.equal(ran.code, 0, `the consumer failed:\n${ran.stdout}\n${ran.stderr}`);
    assert.equal(ran.stdout.trim(), "hello from a consumer 1,2,3 EmdbError");
  },
);

test(
  "a Deno project uses the checkout by path, through an import map and through links, offline and without warnings",
  SLOW,
  async (t) => {
    const deno = toolOf("deno");
    const modUrl = pathToFileURL(join(REPO_ROOT, "mod.ts")).href;
    const program = (specifier: string) =>
      [
        `import { Emdb } from "${specifier}";`,
        'using db = Emdb.open("./data.emdb");',
        'db.set("greeting", "hello from deno");',
        'console.log(db.getString("greeting"));',
        "",
      ].join("\n");
    const version = /deno (\d+)\.(\d+)\.(\d+)/.exec((await runCommand(deno, ["--version"])).stdout);
    assert.ok(version, "deno --version");
    // Before Deno 2.9, "links" to a folder whose package.json has npm workspaces needs a node_modules mode.
    const linksNeedNodeModulesDir = Number(version[1]) === 2 && Number(version[2]) < 9;
    const ways: Array<{ name: string; config?: object; specifier: string }> = [
      { name: "by path", specifier: modUrl },
      { name: "import map", config: { imports: { "@emdb/emdb": modUrl } }, specifier: "@emdb/emdb" },
      {
        name: "links",
        config: {
          links: [REPO_ROOT],
          imports: { "@emdb/emdb": "jsr:@emdb/emdb@^0.1.0" },
          ...(linksNeedNodeModulesDir ? { nodeModulesDir: "manual" } : {}),
        },
        specifier: "@emdb/emdb",
      },
    ];
    for (const way of ways) {
      const dir = tempDir(t);
      if (way.config) writeFileSync(join(dir, "deno.json"), JSON.stringify(way.config));
      writeFileSync(join(dir, "main.ts"), program(way.specifier));
      const ran = await runCommand(
        deno,
        ["run", "--allow-ffi", `--allow-read=${dir}`, `--allow-write=${dir}`, "main.ts"],
        { cwd: dir, env: { ...process.env, NO_COLOR: "1", DENO_DIR: join(dir, ".deno") } },
      );
      assert.equal(ran.code, 0, `${way.name}: ${ran.stdout}\n${ran.stderr}`);
      assert.equal(ran.stdout.trim(), "hello from deno", way.name);
      assert.doesNotMatch(ran.stderr, /warning|error/i, `${way.name} printed:\n${ran.stderr}`);
    }
  },
);

test(
  "the JSR file list (deno publish --dry-run) is the library and its docs: no package.json, lock file, tests, bench, scripts or examples",
  SLOW,
  async () => {
    const published = await runCommand(toolOf("deno"), ["publish", "--dry-run", "--allow-dirty"], {
      timeoutMs: 180_000,
    });
    const report = published.stdout + published.stderr;
    assert.equal(published.code, 0, `deno publish --dry-run failed:\n${report}`);
    assert.match(report, /Success.*Dry run complete/);
    assert.doesNotMatch(report, /error\[/, "no slow types or other publish errors");
    const files = [...report.matchAll(/^\s+file:\/\/(\S+) \(/gm)].map((m) => m[1]!.slice(REPO_ROOT.length + 1)).sort();
    assert.ok(files.length > 10, `the file list was printed:\n${report}`);
    for (const needed of ["mod.ts", "deno.json", "README.md", "LICENSE", "src/db.ts", "ffi/deno.ts", "ffi/bun.ts"]) {
      assert.ok(files.includes(needed), `${needed} is published (${files.join(", ")})`);
    }
    for (const file of files) {
      assert.ok(
        /^(mod\.ts|deno\.json|README\.md|LICENSE|cli\.ts|(src|ffi|docs)\/.+)$/.test(file),
        `${file} should not be published`,
      );
    }
  },
);

test("deno doc --lint finds nothing to report on the public API", SLOW, async () => {
  const linted = await runCommand(toolOf("deno"), ["doc", "--lint", "mod.ts"]);
  assert.equal(linted.code, 0, `deno doc --lint mod.ts:\n${linted.stdout}\n${linted.stderr}`);
  assert.doesNotMatch(linted.stdout + linted.stderr, /error|warning/i);
});

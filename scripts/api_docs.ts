/**
 * Generates `docs/API.md`, the API reference, from the JSDoc of `mod.ts`:
 * `deno doc --json mod.ts` → markdown → `deno fmt` (so the file is already in
 * the form `deno fmt` keeps). Runs under Deno and Bun; it calls the pinned Deno
 * binary (`node_modules/.bin/deno`, or `$EMDB_DOC_DENO`), so the output does not
 * depend on the runtime running the script.
 *
 * ```sh
 * deno run -A scripts/api_docs.ts          # rewrite docs/API.md
 * deno run -A scripts/api_docs.ts --check  # exit 1 when docs/API.md is stale
 * bun scripts/api_docs.ts [--check]
 * ```
 *
 * What is documented: every export of `mod.ts` and every public member of the
 * exported classes, in `mod.ts` order (classes, then interfaces, then types).
 * Private and protected members and anything tagged `@internal` are left out.
 * Source locations name the file but not the line, so editing code without
 * touching its documentation does not make the reference stale.
 * `tests/docs_test.ts` fails when the file is not what this script writes.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";

/** The repository's root folder. */
export const ROOT: string = fileURLToPath(new URL("..", import.meta.url));
/** Where the reference is written. */
export const API_MD: string = fileURLToPath(new URL("../docs/API.md", import.meta.url));

// The parts of `deno doc --json` (format version 2) this script reads.
// deno-lint-ignore no-explicit-any
type Json = any;

/**
 * The Deno executable used to run `deno doc` and `deno fmt`: `$EMDB_DOC_DENO`,
 * else the pinned `node_modules/.bin/deno` (the version `docs/API.md` is
 * generated with), else this process when it is Deno.
 *
 * @returns Its path, or `undefined` when none is available.
 */
export function denoExecutable(): string | undefined {
  const env = process.env.EMDB_DOC_DENO;
  if (env) return env;
  const pinned = fileURLToPath(new URL("../node_modules/.bin/deno", import.meta.url));
  if (existsSync(pinned)) return pinned;
  return "Deno" in globalThis ? process.execPath : undefined;
}

function run(deno: string, args: string[], input?: string): string {
  const r = spawnSync(deno, args, { cwd: ROOT, input, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`deno ${args.join(" ")} failed (exit ${r.status}):\n${r.stderr}`);
  return r.stdout;
}

/**
 * Produces the reference: runs `deno doc --json mod.ts`, renders it and formats it with `deno fmt`.
 *
 * @param deno The Deno executable.
 * @returns The markdown of `docs/API.md`.
 */
export function generateApiDoc(deno: string): string {
  const json = JSON.parse(run(deno, ["doc", "--json", "mod.ts"]));
  return run(deno, ["fmt", "--ext=md", "-"], renderApi(json));
}

// ---- rendering ---------------------------------------------------------------------------

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
}

/** Prints a TypeScript type from its `deno doc` description. */
export function typeText(t: Json): string {
  if (t === undefined || t === null) return "unknown";
  const v = t.value;
  switch (t.kind) {
    case "keyword":
    case "this":
      return t.repr ?? v;
    case "literal":
      if (v.kind === "string") return JSON.stringify(v.string);
      if (v.kind === "number") return String(v.number);
      if (v.kind === "boolean") return String(v.boolean);
      return t.repr;
    case "typeRef":
      return v.typeName + (v.typeParams?.length ? `<${v.typeParams.map(typeText).join(", ")}>` : "");
    case "union":
      return v.map(typeText).join(" | ");
    case "intersection":
      return v.map(typeText).join(" & ");
    case "array": {
      const inner = typeText(v);
      return /[ |&]/.test(inner) && !/^[[{(]/.test(inner) ? `(${inner})[]` : `${inner}[]`;
    }
    case "tuple":
      return `[${v.map(typeText).join(", ")}]`;
    case "typeOperator":
      return `${v.operator} ${typeText(v.tsType)}`;
    case "parenthesized":
      return `(${typeText(v)})`;
    case "typeLiteral": {
      const props = v.properties.map((p: Json) =>
        `${p.readonly ? "readonly " : ""}${p.name}${p.optional ? "?" : ""}: ${typeText(p.tsType)}`
      );
      return props.length === 0 ? "{}" : `{ ${props.join("; ")} }`;
    }
    case "fnOrConstructor":
      return `${v.constructor ? "new " : ""}(${v.params.map(paramText).join(", ")}) => ${typeText(v.tsType)}`;
    default:
      if (typeof t.repr === "string" && t.repr !== "") return t.repr;
      throw new Error(`api_docs: cannot print a type of kind "${t.kind}"; teach typeText() about it`);
  }
}

/** Prints one parameter as a caller sees it (a parameter with a default is optional). */
function paramText(p: Json): string {
  switch (p.kind) {
    case "identifier":
      return `${p.name}${p.optional ? "?" : ""}${p.tsType ? `: ${typeText(p.tsType)}` : ""}`;
    case "assign":
      return `${p.left.name}?${p.left.tsType ? `: ${typeText(p.left.tsType)}` : ""}`;
    case "rest":
      return `...${p.arg.name}${p.tsType ? `: ${typeText(p.tsType)}` : ""}`;
    default:
      throw new Error(`api_docs: cannot print a parameter of kind "${p.kind}"`);
  }
}

function paramName(p: Json): string {
  return p.kind === "assign" ? p.left.name : p.kind === "rest" ? p.arg.name : p.name;
}

function isInternal(node: Json): boolean {
  return (node.jsDoc?.tags ?? []).some((t: Json) => t.kind === "internal");
}

function isPublic(member: Json): boolean {
  return member.accessibility !== "private" && member.accessibility !== "protected" && !isInternal(member);
}

/** Turns `{@linkcode X}` / `{@link X}` into links to the headings that exist, code otherwise. */
function linkText(text: string, anchors: ReadonlyMap<string, string>): string {
  return text.replace(
    /\{@link(?:code|plain)?\s+([^}|\s]+)(?:[\s|]+([^}]*))?\}/g,
    (_m, target: string, label?: string) => {
      const anchor = anchors.get(target);
      const shown = label?.trim() || target;
      return anchor === undefined ? `\`${shown}\`` : `[\`${shown}\`](#${anchor})`;
    },
  );
}

/** Renders the tags and text of one JSDoc block. */
class DocWriter {
  readonly out: string[] = [];
  constructor(readonly anchors: ReadonlyMap<string, string>) {}

  line(s = ""): void {
    this.out.push(s);
  }

  text(s: string | undefined): void {
    if (s === undefined || s.trim() === "") return;
    this.line(linkText(s.trim(), this.anchors));
    this.line();
  }

  code(source: string): void {
    this.line("```ts");
    this.line(source);
    this.line("```");
    this.line();
  }

  /** Parameters, result, errors, examples and any other tag of a JSDoc block. */
  tags(jsDoc: Json, params: Json[] = []): void {
    const tags: Json[] = jsDoc?.tags ?? [];
    const paramDocs = new Map<string, string>(tags.filter((t) => t.kind === "param").map((t) => [t.name, t.doc ?? ""]));
    if (params.length > 0 && [...paramDocs.values()].some((d) => d.trim() !== "")) {
      this.line("Parameters:");
      this.line();
      for (const p of params) this.item(`\`${paramName(p)}\``, paramDocs.get(paramName(p)));
      this.line();
    }
    for (const t of tags) {
      if (t.kind === "return" && t.doc) this.text(`Returns: ${t.doc.trim()}`);
    }
    const throws = tags.filter((t) => t.kind === "throws");
    if (throws.length > 0) {
      this.line("Throws:");
      this.line();
      for (const t of throws) this.item(t.tsType ? `\`${typeText(t.tsType)}\`` : "", t.doc);
      this.line();
    }
    for (const t of tags) {
      if (t.kind === "deprecated") this.text(`**Deprecated.** ${t.doc ?? ""}`);
      else if (t.kind === "see") this.text(`See: ${t.doc ?? ""}`);
      else if (t.kind === "default") this.text(`Default: ${t.value ?? t.doc ?? ""}`);
    }
    for (const t of tags.filter((t) => t.kind === "example")) this.example(t.doc ?? "");
  }

  /** A list item whose text may span several lines and paragraphs. */
  item(label: string, doc: string | undefined): void {
    const body = linkText((doc ?? "").trim(), this.anchors).split("\n");
    const first = [label, body[0]].filter((s) => s !== "" && s !== undefined).join(": ");
    this.line(`- ${first}`);
    for (const l of body.slice(1)) this.line(l === "" ? "" : `  ${l}`);
  }

  /** An `@example`: its first line is a title when it is not the code fence. */
  example(doc: string): void {
    const fence = doc.indexOf("```");
    const title = (fence < 0 ? "" : doc.slice(0, fence)).trim();
    this.line(title === "" ? "*Example*" : `*Example: ${title}*`);
    this.line();
    this.line((fence < 0 ? doc : doc.slice(fence)).trim());
    this.line();
  }
}

function location(decl: Json, root: string): string {
  const file = String(decl.location.filename).replace(root, "");
  return `Defined in [\`${file}\`](../${file}).`;
}

function memberHeading(cls: string, m: Json): string {
  const accessor = m.kind === "getter" || m.kind === "setter" || m.functionDef === undefined;
  const name = m.name.startsWith("[") ? m.name : `.${m.name}`;
  return `${cls}${name}${accessor ? "" : "()"}`;
}

function methodSignature(m: Json): string {
  const f = m.functionDef;
  const prefix = `${m.isStatic ? "static " : ""}${m.kind === "getter" ? "get " : m.kind === "setter" ? "set " : ""}`;
  const typeParams = f.typeParams?.length ? `<${f.typeParams.map((p: Json) => p.name).join(", ")}>` : "";
  const result = f.returnType ? `: ${typeText(f.returnType)}` : "";
  return `${prefix}${m.name}${typeParams}(${f.params.map(paramText).join(", ")})${result}`;
}

function propertySignature(p: Json): string {
  return `${p.isStatic ? "static " : ""}${p.readonly ? "readonly " : ""}${p.name}${p.optional ? "?" : ""}: ${
    typeText(p.tsType)
  }`;
}

/**
 * Renders the output of `deno doc --json mod.ts` as markdown (not yet formatted).
 *
 * @param doc The parsed JSON of `deno doc --json mod.ts` (format version 2).
 * @returns The markdown.
 * @throws {Error} For a JSON format or a construct this renderer does not know.
 */
export function renderApi(doc: Json): string {
  if (doc?.version !== 2) throw new Error(`api_docs: expected deno doc JSON version 2, got ${doc?.version}`);
  const entry = Object.keys(doc.nodes ?? {}).find((url) => url.endsWith("/mod.ts"));
  if (entry === undefined) throw new Error("api_docs: deno doc printed nothing for mod.ts");
  // Source locations are shown relative to the folder of mod.ts (the repository root).
  const rootUrl = entry.slice(0, -"mod.ts".length);
  const module = doc.nodes[entry];
  const symbols: { name: string; decl: Json }[] = module.symbols
    .flatMap((s: Json) => s.declarations.map((d: Json) => ({ name: s.name, decl: d })))
    .filter((s: { decl: Json }) => !isInternal(s.decl));
  const groups: [string, string][] = [["class", "Classes"], ["interface", "Interfaces"], ["typeAlias", "Types"]];
  for (const s of symbols) {
    if (!groups.some(([k]) => k === s.decl.kind)) throw new Error(`api_docs: export ${s.name} is a ${s.decl.kind}`);
  }

  // Every heading, so {@linkcode X.y} can point at it.
  const anchors = new Map<string, string>();
  for (const { name, decl } of symbols) {
    anchors.set(name, slug(name));
    if (decl.kind !== "class") continue;
    for (const m of [...(decl.def.methods ?? []), ...(decl.def.properties ?? [])].filter(isPublic)) {
      anchors.set(`${name}${m.name.startsWith("[") ? "" : "."}${m.name}`, slug(memberHeading(name, m)));
    }
  }

  const w = new DocWriter(anchors);
  w.line("# emdb API reference");
  w.line();
  w.line(
    "Generated from the JSDoc of `mod.ts` by `scripts/api_docs.ts` (`deno doc --json mod.ts`); do not edit it by hand. " +
      "After changing a doc comment, run `deno run -A scripts/api_docs.ts` (or `bun scripts/api_docs.ts`); " +
      "`tests/docs_test.ts` fails while this file is stale. Every example below runs in the test suite " +
      "(`deno test --doc`).",
  );
  w.line();
  w.text(module.module_doc?.doc);
  for (const t of (module.module_doc?.tags ?? []).filter((t: Json) => t.kind === "example")) w.example(t.doc ?? "");

  w.line("## Contents");
  w.line();
  for (const [kind, title] of groups) {
    const names = symbols.filter((s) => s.decl.kind === kind).map((s) => `[\`${s.name}\`](#${slug(s.name)})`);
    w.line(`- ${title}: ${names.join(", ")}`);
  }
  w.line();

  for (const [kind, title] of groups) {
    w.line(`## ${title}`);
    w.line();
    for (const { name, decl } of symbols.filter((s) => s.decl.kind === kind)) {
      w.line(`### ${name}`);
      w.line();
      const where = location(decl, rootUrl);
      if (kind === "class") renderClass(w, name, decl, where);
      else if (kind === "interface") renderInterface(w, name, decl, where);
      else {
        const tp = decl.def.typeParams?.length ? `<${decl.def.typeParams.map((p: Json) => p.name).join(", ")}>` : "";
        w.code(`type ${name}${tp} = ${typeText(decl.def.tsType)};`);
        w.text(where);
        w.text(decl.jsDoc?.doc);
        w.tags(decl.jsDoc);
      }
    }
  }
  return w.out.join("\n").replace(/\n{3,}/g, "\n\n").trimEnd() + "\n";
}

function renderClass(w: DocWriter, name: string, decl: Json, where: string): void {
  const def = decl.def;
  const ext = def.extends ? ` extends ${def.extends}` : "";
  const impl = def.implements?.length ? ` implements ${def.implements.map(typeText).join(", ")}` : "";
  w.code(`${def.isAbstract ? "abstract " : ""}class ${name}${ext}${impl}`);
  w.text(where);
  w.text(decl.jsDoc?.doc);
  w.tags(decl.jsDoc);
  if (def.extends && w.anchors.has(def.extends)) {
    w.text(`Has every member of [\`${def.extends}\`](#${slug(def.extends)}) as well as its own below.`);
  }
  for (const c of (def.constructors ?? []).filter(isPublic)) {
    w.line(`#### new ${name}()`);
    w.line();
    w.code(`new ${name}(${c.params.map(paramText).join(", ")})`);
    w.text(c.jsDoc?.doc);
    w.tags(c.jsDoc, c.params);
  }
  const members = [...(def.properties ?? []), ...(def.methods ?? [])].filter(isPublic);
  // Statics first, then properties and accessors, then methods; each in source order.
  const rank = (m: Json) => (m.isStatic ? 0 : m.functionDef === undefined || m.kind === "getter" ? 1 : 2);
  members.sort((a, b) => rank(a) - rank(b) || a.location.line - b.location.line);
  for (const m of members) {
    w.line(`#### ${memberHeading(name, m)}`);
    w.line();
    w.code(m.functionDef ? methodSignature(m) : propertySignature(m));
    w.text(m.jsDoc?.doc);
    w.tags(m.jsDoc, m.functionDef?.params ?? []);
  }
}

function renderInterface(w: DocWriter, name: string, decl: Json, where: string): void {
  const def = decl.def;
  if (def.methods?.length || def.callSignatures?.length || def.indexSignatures?.length) {
    throw new Error(`api_docs: interface ${name} has methods or signatures; teach renderInterface() about them`);
  }
  const ext = def.extends?.length ? ` extends ${def.extends.map(typeText).join(", ")}` : "";
  const props: Json[] = def.properties ?? [];
  w.code(`interface ${name}${ext} {\n${props.map((p) => `  ${propertySignature(p)};`).join("\n")}\n}`);
  w.text(where);
  w.text(decl.jsDoc?.doc);
  w.tags(decl.jsDoc);
  if (props.length > 0) {
    w.line("Properties:");
    w.line();
    for (const p of props) w.item(`\`${p.name}\``, p.jsDoc?.doc);
    w.line();
  }
}

// ---- command line ------------------------------------------------------------------------

if (import.meta.main) {
  const deno = denoExecutable();
  if (deno === undefined) {
    console.error("api_docs: no Deno executable (run npm ci, or set EMDB_DOC_DENO)");
    process.exit(2);
  }
  const fresh = generateApiDoc(deno);
  if (process.argv.includes("--check")) {
    const current = existsSync(API_MD) ? readFileSync(API_MD, "utf8") : "";
    if (current !== fresh) {
      console.error("api_docs: docs/API.md is stale; run: deno run -A scripts/api_docs.ts");
      process.exit(1);
    }
    console.log("api_docs: docs/API.md is up to date");
  } else {
    writeFileSync(API_MD, fresh);
    console.log(`api_docs: wrote ${API_MD}`);
  }
}

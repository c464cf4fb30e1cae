// Builds subgraph code the way graph-cli does, into temporary folders (never subgraph/build/): a one-file
// AssemblyScript mapping compiled with graph-cli's asc flags here, and whole subgraphs through subgraph/builder.ts.
// Outputs are cached under the OS temp folder by a hash of their inputs, so test files and benchmarks that need the
// same build compile it once.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { readFile, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { cachedBuild, DEFAULT_BUILD_CACHE } from "../../subgraph/builder.ts";

export { buildSubgraphFor, compileSources as buildTestSubgraph, type SubgraphSources as TestSubgraph, type SubgraphTarget as SubgraphDeployment } from "../../subgraph/builder.ts";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const NODE_MODULES = path.join(ROOT, "node_modules");
const CACHE = DEFAULT_BUILD_CACHE;

function hash(...parts: (string | Uint8Array)[]): string {
  const h = createHash("sha256");
  for (const part of parts) h.update(part).update("\0");
  return h.digest("hex").slice(0, 16);
}

/** Compiles one AssemblyScript file against graph-ts with graph-cli's flags; returns the WASM bytes. */
export async function compileMapping(source: string): Promise<Uint8Array<ArrayBuffer>> {
  const dir = await cachedBuild(CACHE, `asc-${hash(source)}`, async (work) => {
    await symlink(NODE_MODULES, path.join(work, "node_modules"), "dir");
    await writeFile(path.join(work, "mapping.ts"), source);
    const asc = path.join(NODE_MODULES, "assemblyscript/bin/asc");
    const globals = "node_modules/@graphprotocol/graph-ts/global/global.ts";
    const flags = ["--explicitStart", "--exportRuntime", "--runtime", "stub", "--optimize", "--debug"];
    try {
      await run(process.execPath, [asc, "mapping.ts", globals, "--baseDir", ".", "--lib", "node_modules", "--outFile", "mapping.wasm", ...flags], { cwd: work });
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string };
      throw new Error(`asc failed:\n${e.stderr || e.stdout || String(error)}`);
    }
  });
  return new Uint8Array(await readFile(path.join(dir, "mapping.wasm")));
}


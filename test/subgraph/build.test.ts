// The subgraph compiles with graph-cli against the contracts' current ABIs (a renamed event or a changed signature
// fails here), and a deployment file's addresses and start block end up in the built manifest.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { execFile } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { promisify } from "node:util";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const run = promisify(execFile);

describe("subgraph build", () => {
  it("compiles every mapping and fills the manifest from the deployment file", { timeout: 240_000 }, async () => {
    const dir = path.join(ROOT, "deployments");
    const file = path.join(dir, "999999.json");
    const registry = "0x1111111111111111111111111111111111111111";
    const vault = "0x2222222222222222222222222222222222222222";
    await mkdir(dir, { recursive: true });
    await writeFile(
      file,
      JSON.stringify({
        chainId: 999999,
        startBlock: 42,
        deployedAt: new Date(0).toISOString(),
        owner: registry,
        treasury: registry,
        stablecoin: { address: registry, decimals: 6, test: true },
        contracts: { registry, vault, sharesImplementation: vault, registryImplementation: vault, vaultImplementation: vault },
      }),
    );
    try {
      await run("node", ["subgraph/build.ts", "999999"], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
    } finally {
      await rm(file);
    }
    const built = parse(await readFile(path.join(ROOT, "subgraph/build/subgraph.yaml"), "utf8"));
    const sources = Object.fromEntries(built.dataSources.map((d: { name: string }) => [d.name, d]));
    assert.equal(sources.ModelRegistry.source.address, registry);
    assert.equal(sources.Vault.source.address, vault);
    assert.equal(sources.Vault.source.startBlock, 42);
    assert.equal(sources.Vault.network, "chain-999999");
    assert.equal(built.templates[0].network, "chain-999999");
    for (const name of ["ModelRegistry/ModelRegistry.wasm", "Vault/Vault.wasm", "templates/ModelShares/ModelShares.wasm"]) {
      const wasm = await readFile(path.join(ROOT, "subgraph/build", name));
      assert.ok(WebAssembly.validate(wasm), `${name} is valid WebAssembly`);
    }
    // The committed manifest keeps its placeholders.
    const committed = parse(await readFile(path.join(ROOT, "subgraph/subgraph.yaml"), "utf8"));
    assert.equal(committed.dataSources[0].source.address, "0x0000000000000000000000000000000000000000");
  });
});

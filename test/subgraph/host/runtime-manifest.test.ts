// Loading a built subgraph: the real `graph build` output is read with its handlers, topics and compiled mappings;
// broken or unsupported manifests are refused up front with messages that say what and where; a module importing
// a host function the host lacks fails to load, naming the function and the data source.
import assert from "node:assert/strict";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { before, describe, it } from "node:test";
import { parse, stringify } from "yaml";
import { toEventSelector, type AbiEvent } from "viem";
import { buildSubgraphFor, compileMapping } from "../../helpers/graph-build.ts";
import { loadManifest, ManifestError } from "../../../subgraph/host/runtime/manifest.ts";
import { MappingModule } from "../../../subgraph/host/runtime/mapping.ts";
import { hostFunctions } from "../../../subgraph/host/runtime/host/index.ts";
import { InvalidModuleError, MissingHostFunctionError } from "../../../subgraph/host/runtime/errors.ts";
import { loadArtifact } from "../../../deploy/artifacts.ts";

const REGISTRY = "0x1111111111111111111111111111111111111111";
const VAULT = "0x2222222222222222222222222222222222222222";

type Yaml = {
  dataSources: { name: string; network: string; source: Record<string, unknown>; mapping: Record<string, unknown> & { eventHandlers: Record<string, unknown>[] } }[];
  templates: { name: string; network: string; mapping: Record<string, unknown> }[];
};

describe("loading the built manifest", () => {
  let built: string;

  before(async () => {
    built = await buildSubgraphFor({ registry: REGISTRY, vault: VAULT, startBlock: 7, network: "hardhat" });
  });

  /** A copy of the build with its manifest changed by `edit`. */
  async function variant(edit: (doc: Yaml) => void): Promise<string> {
    const dir = await mkdtemp(path.join(tmpdir(), "modelshare-manifest-"));
    await cp(built, dir, { recursive: true });
    const doc = parse(await readFile(path.join(dir, "subgraph.yaml"), "utf8")) as Yaml;
    edit(doc);
    await writeFile(path.join(dir, "subgraph.yaml"), stringify(doc));
    return dir;
  }

  async function refused(edit: (doc: Yaml) => void, message: RegExp) {
    const dir = await variant(edit);
    try {
      await assert.rejects(loadManifest(dir), (error: unknown) => {
        assert.ok(error instanceof ManifestError || error instanceof InvalidModuleError, `unexpected ${String(error)}`);
        assert.match((error as Error).message, message);
        return true;
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  it("reads data sources, templates, handlers with their topic0 and the schema", async () => {
    const manifest = await loadManifest(built);
    assert.equal(manifest.network, "hardhat");
    assert.deepEqual(
      manifest.dataSources.map((d) => [d.name, d.address, d.startBlock]),
      [
        ["ModelRegistry", REGISTRY, 7],
        ["Vault", VAULT, 7],
      ],
    );
    assert.deepEqual(manifest.templates.map((t) => t.name), ["ModelShares"]);
    const vaultAbi = (await loadArtifact("Vault")).abi;
    for (const handler of manifest.dataSources[1]!.handlers) {
      const event = vaultAbi.find((item): item is AbiEvent => item.type === "event" && item.name === handler.abiEvent.name)!;
      assert.equal(handler.topic0, toEventSelector(event), handler.event);
      assert.ok(manifest.dataSources[1]!.mapping.hasHandler(handler.handler));
    }
    // The registry's ERC-721 Transfer and the share token's ERC-20 Transfer share topic0 but not their indexed inputs.
    const nft = manifest.dataSources[0]!.handlers.find((h) => h.handler === "handleModelTransfer")!;
    const erc20 = manifest.templates[0]!.handlers.find((h) => h.handler === "handleShareTransfer")!;
    assert.equal(nft.topic0, erc20.topic0);
    assert.notDeepEqual(nft.abiEvent.inputs.map((i) => i.indexed), erc20.abiEvent.inputs.map((i) => i.indexed));
    assert.ok(manifest.schema.entities.has("ShareBalance"));
  });

  it("says how to get a build when there is none", async () => {
    await assert.rejects(loadManifest(path.join(tmpdir(), "no-such-build")), /cannot read the built manifest .*\(run `npm run subgraph:build` first\)/);
  });

  it("refuses manifests it cannot index, saying where", async () => {
    await refused((d) => (d.dataSources[0]!.source.address = "0x1234"), /data source ModelRegistry: source.address 0x1234 is not an address/);
    await refused((d) => (d.dataSources[1]!.mapping.eventHandlers[0]!.event = "Deposited(address,uint256)"), /data source Vault, handler handleDeposited: event Deposited\(address,uint256\) is not in ABI Vault/);
    await refused(
      (d) => (d.dataSources[1]!.mapping.eventHandlers[0]!.event = "Deposited(address,indexed address,uint256)"),
      /event Deposited\(address,indexed address,uint256\) does not match the ABI's Deposited\(indexed address,indexed address,uint256\) \(indexed parameters differ\)/,
    );
    await refused((d) => (d.dataSources[1]!.mapping.eventHandlers[0]!.handler = "handleNothing"), /handler handleNothing: the mapping .*Vault.wasm does not export handleNothing/);
    await refused((d) => (d.dataSources[0]!.mapping.blockHandlers = [{ handler: "handleBlock" }]), /data source ModelRegistry: block handlers are not supported/);
    await refused((d) => (d.dataSources[1]!.mapping.eventHandlers[0]!.receipt = true), /`receipt: true` is not supported/);
    await refused((d) => (d.dataSources[1]!.network = "mainnet"), /several networks \(hardhat, mainnet\)/);
    await refused((d) => (d.dataSources[1]!.mapping.apiVersion = "0.0.4"), /apiVersion 0.0.4 is not supported/);
    await refused((d) => (d.templates[0]!.name = "Vault"), /two data sources or templates are named Vault/);
    await refused((d) => (d.dataSources[0]!.mapping.file = "ModelRegistry/missing.wasm"), /cannot read the mapping .*missing.wasm/);
    await refused((d) => (d.dataSources[0]!.mapping.kind = "ethereum/blocks"), /dataSources\[0\] \(ModelRegistry\): mapping.kind/);
  });

  it("fails to load a module whose imports the host lacks, naming them and the data source", async () => {
    const withoutPow = Object.fromEntries(Object.entries(hostFunctions).filter(([name]) => name !== "bigInt.pow"));
    await assert.rejects(loadManifest(built, { hostFunctions: withoutPow }), (error: unknown) => {
      assert.ok(error instanceof MissingHostFunctionError);
      assert.equal(error.message, "the host does not implement bigInt.pow, needed by ModelShares");
      return true;
    });

    const wasm = await compileMapping(`
      import { Address, Bytes, ethereum, ipfs } from "@graphprotocol/graph-ts";
      export function handle(a: Address): Bytes | null {
        const call = new ethereum.SmartContractCall("Vault", a, "treasury", "treasury():(address)", []);
        ethereum.call(call);
        return ipfs.cat("QmWmyoMoctfbAaiEs2G46gpeUmhqFRDW6KWo64y5r581Vz");
      }
    `);
    assert.throws(() => new MappingModule("Vault", wasm, "0.0.9"), /^MissingHostFunctionError: the host does not implement ethereum.call, ipfs.cat, needed by Vault$/);
  });

  it("refuses bytes that are not a graph-cli module", () => {
    assert.throws(() => new MappingModule("Junk", new Uint8Array([0, 1, 2, 3]), "0.0.9"), /Junk: not a valid WebAssembly module/);
    const empty = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
    assert.throws(() => new MappingModule("Empty", empty, "0.0.9"), /Empty: the module does not export memory `memory`; build it with graph-cli/);
    assert.throws(() => new MappingModule("Empty", empty, "zero"), /apiVersion `zero` is not a version/);
  });
});

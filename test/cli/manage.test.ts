// models / price / version / deploy and the account sources (keystore), run as subprocesses against a hardhat node.
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { encryptKeystoreJsonSync, Wallet } from "ethers";
import { address, BAD_INPUT, ENVIRONMENT, errorLine, KEYS, REJECTED, startHarness, type Harness } from "./harness.ts";

const owner = KEYS[1];
const stranger = KEYS[2];

describe("modelshare models / price / version / deploy", () => {
  let h: Harness;
  let first: bigint;
  let second: bigint;

  before(async () => {
    h = await startHarness();
    first = await h.mintDirect(owner, { price: 2_000n });
    second = await h.mintDirect(stranger, { price: 5_000n, parents: [first], bps: 1_000 });
  });
  after(async () => h?.stop());

  it("lists the models, optionally by owner", async () => {
    const r = await h.cli(["models", "--json"], { key: null });
    assert.equal(r.code, 0, r.stderr);
    const { models } = r.json<{ models: { modelId: string; owner: string; price: string; upstreamBps: number }[] }>();
    assert.deepEqual(models.map((m) => [m.modelId, m.owner, m.price, m.upstreamBps]), [
      [first.toString(), address(owner), "0.002", 0],
      [second.toString(), address(stranger), "0.005", 1000],
    ]);
    const mine = await h.cli(["models", "--owner", address(stranger), "--json"], { key: null });
    assert.deepEqual(mine.json<{ models: { modelId: string }[] }>().models.map((m) => m.modelId), [second.toString()]);
    const human = await h.cli(["models"], { key: null });
    assert.match(human.stdout, /#1\s+0\.002\s+v1\s+0x/);
  });

  it("shows a model minted elsewhere even when its card is not in local storage", async () => {
    const r = await h.cli(["show", second.toString(), "--json"], { key: null });
    assert.equal(r.code, 0, r.stderr);
    const shown = r.json<{ card: unknown; parents: unknown; price: string }>();
    assert.equal(shown.card, null);
    assert.equal(shown.price, "0.005");
    assert.deepEqual(shown.parents, [{ modelId: first.toString(), bps: 1000 }]);
    const missing = await h.cli(["show", "99"], { key: null });
    assert.equal(missing.code, BAD_INPUT);
    assert.match(errorLine(missing), /^error: unknown model #99: chain 31337 has models #1 to #2$/);
  });

  it("changes the price (and operator fee) of an owned model", async () => {
    const r = await h.cli(["price", first.toString(), "0.0035", "--operator-fee", "1000", "--json"], { key: owner });
    assert.equal(r.code, 0, r.stderr);
    const out = r.json<{ price: string; priceUnits: string; previousPrice: string; operatorFeeBps: number; txHash: string }>();
    assert.deepEqual([out.price, out.priceUnits, out.previousPrice, out.operatorFeeBps], ["0.0035", "3500", "0.002", 1000]);
    const shown = (await h.cli(["show", first.toString(), "--json"], { key: null })).json<{ price: string; operatorFeeBps: number }>();
    assert.equal(shown.price, "0.0035");
    assert.equal(shown.operatorFeeBps, 1000);
    const raw = await h.cli(["price", first.toString(), "4000", "--raw", "--json"], { key: owner });
    assert.equal(raw.json<{ price: string }>().price, "4000");
  });

  it("refuses a price change that is out of range or not the owner's, sending nothing", async () => {
    const before = await h.nonce(address(stranger));
    const zero = await h.cli(["price", first.toString(), "0"], { key: stranger });
    assert.equal(zero.code, BAD_INPUT);
    assert.match(errorLine(zero), /^error: price must be above 0/);
    const fee = await h.cli(["price", first.toString(), "1", "--operator-fee", "5000"], { key: stranger });
    assert.equal(fee.code, BAD_INPUT);
    assert.match(errorLine(fee), /--operator-fee must be an integer from 0 to 3000 bps/);
    const notOwner = await h.cli(["price", first.toString(), "1"], { key: stranger });
    assert.equal(notOwner.code, REJECTED);
    assert.match(errorLine(notOwner), /^error: model #1 is managed by its NFT owner 0x[0-9a-fA-F]{40}, not by 0x/);
    assert.equal(await h.nonce(address(stranger)), before);
  });

  it("publishes a new version and `show` serves it", async () => {
    const v1 = await h.model("v1.onnx", { seed: 1 });
    const minted = await h.cli(["mint", v1, "--name", "Versioned", "--license", "MIT", "--tag", "a", "--price", "0.01", "--shares", "100", "--json"], { key: owner });
    assert.equal(minted.code, 0, minted.stderr);
    const id = minted.json<{ modelId: string; weightsSha256: string }>().modelId;

    const v2 = await h.model("v2.onnx", { seed: 7 });
    const r = await h.cli(["version", id, v2, "--description", "retrained", "--json"], { key: owner });
    assert.equal(r.code, 0, r.stderr);
    const published = r.json<{ version: number; previousVersion: number; weightsCid: string; metadataCid: string; weightsSha256: string; gasUsed: string }>();
    assert.equal(published.version, 2);
    assert.equal(published.previousVersion, 1);

    const shown = (await h.cli(["show", id, "--json"], { key: null })).json<Record<string, any>>();
    assert.equal(shown.version, 2);
    assert.equal(shown.weightsSha256, published.weightsSha256);
    assert.equal(shown.metadataCid, published.metadataCid);
    assert.equal(shown.card.name, "Versioned", "name carried over from the previous card");
    assert.equal(shown.card.license, "MIT");
    assert.deepEqual(shown.card.tags, ["a"]);
    assert.equal(shown.card.description, "retrained");

    const before = await h.nonce(address(stranger));
    const foreign = await h.cli(["version", id, v2], { key: stranger });
    assert.equal(foreign.code, REJECTED);
    assert.match(errorLine(foreign), /is managed by its NFT owner/);
    const notOnnx = await h.cli(["version", id, await h.file("junk.onnx", "junk")], { key: stranger });
    assert.equal(notOnnx.code, BAD_INPUT);
    assert.match(errorLine(notOnnx), /is not an ONNX model/);
    assert.equal(await h.nonce(address(stranger)), before);
  });

  it("signs with an encrypted JSON keystore", async () => {
    const wallet = new Wallet(KEYS[3]);
    // A small scrypt cost keeps the test fast; real keystores use N = 2^17 or 2^18, which the CLI handles too.
    const json = encryptKeystoreJsonSync({ address: wallet.address, privateKey: wallet.privateKey }, "correct horse", { scrypt: { N: 1024 } });
    const keystore = await h.file("keystore.json", json);
    const ok = await h.cli(["balance", "--keystore", keystore, "--json"], { key: null, env: { MODELSHARE_KEYSTORE_PASSWORD: "correct horse" } });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.json<{ account: string }>().account, wallet.address);
    const passwordFile = await h.file("password.txt", "correct horse\n");
    const viaFile = await h.cli(["balance", "--keystore", keystore, "--password-file", passwordFile, "--json"], { key: null });
    assert.equal(viaFile.json<{ account: string }>().account, wallet.address);
    const wrong = await h.cli(["balance", "--keystore", keystore], { key: null, env: { MODELSHARE_KEYSTORE_PASSWORD: "nope" } });
    assert.equal(wrong.code, BAD_INPUT);
    assert.equal(errorLine(wrong), "error: wrong keystore password");
  });

  it("reads settings from a config file, flags winning over it", async () => {
    const config = await h.file("config.json", JSON.stringify({ rpcUrl: "http://127.0.0.1:9", chainId: 31337, deploymentsDir: "deployments" }));
    const viaFile = await h.cli(["models", "--config", config, "--json"], { key: null, env: { MODELSHARE_RPC_URL: "" } });
    assert.equal(viaFile.code, ENVIRONMENT);
    assert.match(errorLine(viaFile), /cannot reach the RPC endpoint http:\/\/127\.0\.0\.1:9/);
    const flagWins = await h.cli(["models", "--config", config, "--rpc-url", h.rpcUrl, "--json"], { key: null, env: { MODELSHARE_RPC_URL: "" } });
    assert.equal(flagWins.code, 0, flagWins.stderr);
    const bad = await h.file("bad.json", JSON.stringify({ rpcURL: "x" }));
    const invalid = await h.cli(["models", "--config", bad], { key: null });
    assert.equal(invalid.code, BAD_INPUT);
    assert.match(errorLine(invalid), /^error: invalid config file .*bad\.json: /);
  });

  it("deploys with `deploy`, refuses to replace a live deployment without --force", async () => {
    const dir = path.join(h.dir, "fresh-deployments");
    const env = { MODELSHARE_DEPLOYMENTS_DIR: dir };
    const r = await h.cli(["deploy", "--json"], { env });
    assert.equal(r.code, 0, r.stderr);
    const deployed = r.json<{ chainId: number; contracts: { registry: string }; file: string }>();
    assert.equal(deployed.chainId, 31337);
    assert.equal(deployed.file, path.join(dir, "31337.json"));
    const again = await h.cli(["deploy"], { env });
    assert.equal(again.code, ENVIRONMENT);
    assert.match(errorLine(again), /a Modelshare deployment is live on chain 31337 .* pass --force to replace it/);
    const forced = await h.cli(["deploy", "--force", "--json"], { env });
    assert.equal(forced.code, 0, forced.stderr);
    assert.notEqual(forced.json<{ contracts: { registry: string } }>().contracts.registry, deployed.contracts.registry);
    const models = await h.cli(["models", "--json"], { env });
    assert.equal(models.json<{ count: number }>().count, 0, "the new deployment starts empty");
  });
});

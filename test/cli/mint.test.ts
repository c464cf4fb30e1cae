// `modelshare mint` and `show`, run as subprocesses against a hardhat node: the happy path with a split and a
// parent, and every bad input, each with its one-line message, its exit code and no transaction sent.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import type { Hex } from "viem";
import { generatePrivateKey } from "viem/accounts";
import { address, BAD_INPUT, ENVIRONMENT, errorLine, KEYS, REJECTED, startHarness, type CliResult, type Harness } from "./harness.ts";

const creator = KEYS[1];
const contributor = KEYS[4];
const failing = KEYS[5];

interface Minted {
  modelId: string;
  shareToken: string;
  weightsCid: string;
  metadataCid: string;
  weightsSha256: string;
  txHash: string;
  gasUsed: string;
}

describe("modelshare mint", () => {
  let h: Harness;
  let modelFile: string;

  before(async () => {
    h = await startHarness();
    modelFile = await h.model("classifier.onnx");
  });
  after(async () => h?.stop());

  describe("happy path", () => {
    let parent: Minted;
    let child: Minted;

    it("mints a model and prints the id, share token, CIDs, sha256, tx and gas as JSON", async () => {
      const r = await h.cli(["mint", modelFile, "--name", "Parent classifier", "--price", "0.001", "--shares", "1000", "--json"], { key: creator });
      assert.equal(r.code, 0, r.stderr);
      parent = r.json<Minted>();
      assert.equal(parent.modelId, "1");
      assert.match(parent.shareToken, /^0x[0-9a-fA-F]{40}$/);
      assert.match(parent.weightsCid, /^baf/);
      assert.match(parent.metadataCid, /^baf/);
      assert.equal(parent.weightsSha256, `0x${createHash("sha256").update(await readFile(modelFile)).digest("hex")}`);
      assert.match(parent.txHash, /^0x[0-9a-f]{64}$/);
      assert.ok(Number(parent.gasUsed) > 0);
      console.log(`    CLI mint gas (1 recipient, no parent): ${parent.gasUsed}`);
    });

    it("mints with a split and a parent, and `show` reads the same back", async () => {
      const file = await h.model("child.onnx", { seed: 2, features: 8, classes: 2 });
      const r = await h.cli(
        [
          "mint", file,
          "--name", "Child classifier", "--description", "fine-tuned", "--license", "Apache-2.0",
          "--tag", "vision", "--tag", "tiny",
          "--price", "0.002", "--shares", "1000",
          "--split", `${address(creator)}=700`, "--split", `${address(contributor)}=300`,
          "--parent", `${parent.modelId}=1000`, "--operator-fee", "250", "--json",
        ],
        { key: creator },
      );
      assert.equal(r.code, 0, r.stderr);
      child = r.json<Minted>();
      console.log(`    CLI mint gas (2 recipients, 1 parent): ${child.gasUsed}`);

      const s = await h.cli(["show", child.modelId, "--json"], { key: null });
      assert.equal(s.code, 0, s.stderr);
      const shown = s.json<Record<string, any>>();
      assert.equal(shown.name, "Child classifier");
      assert.equal(shown.owner, address(creator));
      assert.equal(shown.shareToken, child.shareToken);
      assert.equal(shown.price, "0.002");
      assert.equal(shown.priceUnits, "2000");
      assert.equal(shown.operatorFeeBps, 250);
      assert.equal(shown.upstreamBps, 1000);
      assert.equal(shown.version, 1);
      assert.equal(shown.weightsSha256, child.weightsSha256);
      assert.equal(shown.weightsCid, child.weightsCid);
      assert.equal(shown.metadataCid, child.metadataCid);
      assert.equal(shown.tokenURI, `ipfs://${child.metadataCid}`);
      assert.equal(shown.shareSupply, "1000");
      assert.deepEqual(shown.parents, [{ modelId: parent.modelId, bps: 1000 }]);
      assert.deepEqual(shown.split, [
        { address: address(creator), amount: "700" },
        { address: address(contributor), amount: "300" },
      ]);
      // The card, read back from storage.
      const card = shown.card;
      assert.equal(card.description, "fine-tuned");
      assert.equal(card.license, "Apache-2.0");
      assert.deepEqual(card.tags, ["vision", "tiny"]);
      assert.deepEqual(card.parents, [{ modelId: parent.modelId, bps: 1000 }]);
      assert.equal(card.model.format, "onnx");
      assert.equal(card.model.opset, 13);
      assert.deepEqual(card.model.inputs, [{ name: "input", type: "float32", shape: ["batch", 8] }]);
      assert.deepEqual(card.model.outputs, [{ name: "probabilities", type: "float32", shape: ["batch", 2] }]);
      assert.deepEqual(card.weights, { sha256: child.weightsSha256, cid: child.weightsCid, sizeBytes: (await readFile(file)).length });

      const human = await h.cli(["show", child.modelId], { key: null });
      assert.match(human.stdout, /model #2  Child classifier/);
      assert.match(human.stdout, /parent\s+#1 \(1000 bps\)/);
    });

    it("prints a readable summary without --json", async () => {
      const r = await h.cli(["mint", modelFile, "--name", "Plain", "--price", "0.5", "--shares", "10"], { key: creator });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^minted model #3 "Plain"/);
      assert.match(r.stdout, /tx\s+0x[0-9a-f]{64} \(block \d+, gas \d+\)/);
      assert.equal(r.stderr, "", "no progress output when not on a terminal");
    });
  });

  describe("bad input: one line, an exit code, no transaction", () => {
    async function rejects(args: string[], code: number, message: RegExp, options: { key?: Hex; env?: Record<string, string> } = {}) {
      const key = options.key ?? failing;
      const before = await h.nonce(address(key));
      const r: CliResult = await h.cli(args, { key, env: options.env });
      assert.equal(r.code, code, `exit code for ${args.join(" ")}: ${r.stderr}`);
      assert.match(errorLine(r), message);
      assert.equal(r.stdout, "");
      assert.equal(await h.nonce(address(key)), before, "no transaction sent");
    }
    const mint = (file: string, ...extra: string[]) => ["mint", file, "--name", "m", "--price", "0.002", "--shares", "1000", ...extra];

    it("the RPC endpoint is unreachable", async () => {
      await rejects(mint(modelFile), ENVIRONMENT, /^error: cannot reach the RPC endpoint http:\/\/127\.0\.0\.1:9: is the node running\?$/, {
        env: { MODELSHARE_RPC_URL: "http://127.0.0.1:9" },
      });
    });

    it("the chain id is not the expected one", async () => {
      await rejects([...mint(modelFile), "--chain-id", "8453"], ENVIRONMENT, /^error: wrong chain: expected chain id 8453 \(--chain-id\) but .* is on chain 31337$/);
    });

    it("there is no deployment for the chain", async () => {
      await rejects(mint(modelFile), ENVIRONMENT, /^error: no Modelshare deployment for chain 31337 \(.*31337\.json\): run `modelshare deploy` first$/, {
        env: { MODELSHARE_DEPLOYMENTS_DIR: path.join(h.dir, "nowhere") },
      });
    });

    it("the account has no ETH for gas", async () => {
      await rejects(mint(modelFile), ENVIRONMENT, /^error: account 0x[0-9a-fA-F]{40} has no ETH on chain 31337 to pay for gas$/, { key: generatePrivateKey() });
    });

    it("the file is missing", async () => {
      await rejects(mint(path.join(h.dir, "missing.onnx")), BAD_INPUT, /^error: model file not found: .*missing\.onnx$/);
    });

    it("the file is not ONNX", async () => {
      const text = await h.file("notes.onnx", "this is not a model\n");
      await rejects(mint(text), BAD_INPUT, /^error: .*notes\.onnx is not an ONNX model \(/);
      const bytes = await readFile(modelFile);
      const truncated = await h.file("truncated.onnx", bytes.subarray(0, bytes.length - 40));
      await rejects(mint(truncated), BAD_INPUT, /^error: .*truncated\.onnx is not an ONNX model \(truncated protobuf\)$/);
    });

    it("the file is above the size limit", async () => {
      await rejects([...mint(modelFile), "--max-size", "100B"], BAD_INPUT, /^error: .*classifier\.onnx is \d+ B, above the 100 B limit \(--max-size\)$/);
      await rejects(mint(modelFile), BAD_INPUT, /above the 200 B limit/, { env: { MODELSHARE_MAX_MODEL_SIZE: "200" } });
    });

    it("the price is out of range", async () => {
      await rejects(["mint", modelFile, "--name", "m", "--price", "0", "--shares", "10"], BAD_INPUT, /^error: --price must be above zero$/);
      await rejects(["mint", modelFile, "--name", "m", "--price", "-1", "--shares", "10"], BAD_INPUT, /--price must be a non-negative decimal number/);
      await rejects(["mint", modelFile, "--name", "m", "--price", "0.0000001", "--shares", "10"], BAD_INPUT, /has 7 decimals; the stablecoin has only 6/);
      await rejects(["mint", modelFile, "--name", "m", "--price", "1e9", "--shares", "10"], BAD_INPUT, /--price must be a non-negative decimal number/);
      await rejects(["mint", modelFile, "--name", "m", "--price", "99999999999999999999999", "--shares", "10"], BAD_INPUT, /--price is too large/);
    });

    it("the share supply is out of range", async () => {
      await rejects(["mint", modelFile, "--name", "m", "--price", "1", "--shares", "0"], BAD_INPUT, /^error: --shares must be above zero$/);
      await rejects(["mint", modelFile, "--name", "m", "--price", "1", "--shares", "100000000000"], BAD_INPUT, /^error: --shares is too large: at most 79228162514\.\d+ shares$/);
      await rejects(["mint", modelFile, "--name", "m", "--price", "1", "--shares", "ten"], BAD_INPUT, /--shares must be a positive number of shares/);
    });

    it("a fee or royalty is out of range", async () => {
      await rejects(mint(modelFile, "--operator-fee", "3001"), BAD_INPUT, /^error: --operator-fee must be an integer from 0 to 3000 bps, got "3001"$/);
      await rejects(mint(modelFile, "--parent", "1=5001"), BAD_INPUT, /^error: --parent 1 royalty must be an integer from 0 to 5000 bps/);
      await rejects(mint(modelFile, "--parent", "1=0"), BAD_INPUT, /^error: --parent 1 royalty must be above 0 bps$/);
      await rejects(mint(modelFile, "--parent", "1=3000", "--parent", "2=2001"), BAD_INPUT, /^error: parent royalties add up to 5001 bps; at most 5000 bps/);
      await rejects(mint(modelFile, "--parent", "1=100", "--parent", "1=100"), BAD_INPUT, /^error: --parent 1 is listed twice$/);
      const nine = Array.from({ length: 9 }, (_, i) => ["--parent", `${i + 1}=100`]).flat();
      await rejects(mint(modelFile, ...nine), BAD_INPUT, /^error: 9 parents declared; a model may declare at most 8$/);
    });

    it("a parent does not exist", async () => {
      await rejects(mint(modelFile, "--parent", "999=100"), BAD_INPUT, /^error: unknown parent model #999: chain 31337 has models #1 to #\d+$/);
    });

    it("the split does not add up to --shares", async () => {
      await rejects(
        mint(modelFile, "--split", `${address(creator)}=600`, "--split", `${address(contributor)}=300`),
        BAD_INPUT,
        /^error: --split adds up to 900 shares but --shares is 1000: the split must account for every share/,
      );
      await rejects(mint(modelFile, "--split", "0x1234=1000"), BAD_INPUT, /^error: --split "0x1234=1000": "0x1234" is not an address$/);
      await rejects(mint(modelFile, "--split", `${address(creator)}`), BAD_INPUT, /^error: --split must look like <address>=<shares>/);
      await rejects(
        mint(modelFile, "--split", `${address(creator)}=500`, "--split", `${address(creator)}=500`),
        BAD_INPUT,
        /^error: --split names 0x[0-9a-fA-F]{40} twice$/,
      );
    });

    it("a required option is missing", async () => {
      await rejects(["mint", modelFile, "--price", "1", "--shares", "1"], BAD_INPUT, /^error: required option '--name <name>' not specified$/);
    });

    it("the contract would revert: the simulation reports its custom error", async () => {
      // 16 base models, two models with 8 parents each; a child of both would need 18 ancestry rows (max 16).
      const mintDirect = (parents: bigint[], bps: number) => h.mintDirect(KEYS[0], { parents, bps });
      const base: bigint[] = [];
      for (let i = 0; i < 16; i++) base.push(await mintDirect([], 0));
      const left = await mintDirect(base.slice(0, 8), 500);
      const right = await mintDirect(base.slice(8), 500);
      await rejects(
        mint(modelFile, "--parent", `${left}=2500`, "--parent", `${right}=2500`),
        REJECTED,
        /^error: mint would fail: TooManyAncestors\(18, 16\): the flattened ancestry is longer than allowed$/,
      );
    });
  });
});

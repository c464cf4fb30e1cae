// The model catalog against a real chain: models minted on a `hardhat node` with their real weights in a real local
// store, sessions from onnxruntime-node, and the gateway's RPC reached through a proxy that counts calls and can be
// cut. Time-based rules (terms TTL, remembered failures) run on a clock the tests move.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { InferenceSession, Tensor as OrtTensor } from "onnxruntime-node";
import { createPublicClient, http } from "viem";
import { hardhat } from "viem/chains";
import { ChainWatcher } from "../../gateway/chain/watcher.ts";
import { ModelError } from "../../gateway/models/errors.ts";
import { LaneBook } from "../../gateway/payments/lanes.ts";
import { PayerBook } from "../../gateway/payments/payers.ts";
import { listingToJson, parseModelId, type ModelSummary } from "../../gateway/models/catalog.ts";
import { parseInputs } from "../../gateway/models/tensors.ts";
import { sha256Hex } from "../../sdk/storage/cid.ts";
import { buildTinyClassifier } from "../helpers/onnx.ts";
import { countingStorage, manualClock, recordingLogger, startModelsChain, type ModelsChain } from "./models-fixture.ts";

let chain: ModelsChain;
const v1 = buildTinyClassifier({ features: 4, classes: 3, seed: 1 });
const v2 = buildTinyClassifier({ features: 4, classes: 3, seed: 2 });
const sample = { input: [[0.5, -1, 2, 0.25]] };

before(async () => {
  chain = await startModelsChain();
});

after(async () => {
  await chain?.stop();
});

async function rejectsWith(promise: Promise<unknown>, code: string, status: number, message?: RegExp) {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof ModelError, `expected a ModelError, got ${e}`);
    assert.equal(e.code, code);
    assert.equal(e.status, status);
    if (message) assert.match(e.message, message);
    return true;
  });
}

/** What onnxruntime answers for the same bytes and input, without the catalog. */
async function reference(weights: Uint8Array, data: number[]): Promise<number[]> {
  const session = await InferenceSession.create(weights);
  const out = await session.run({ input: new OrtTensor("float32", Float32Array.from(data), [1, 4]) });
  await session.release();
  return [...(out.probabilities!.data as Float32Array)];
}

describe("loading a model", () => {
  it("verifies the weights against the registry and serves the session with the model's terms", async () => {
    const id = await chain.mint(v1, { price: 1234n, operatorFeeBps: 250 });
    const catalog = chain.catalog();
    const model = await catalog.load(id);
    assert.equal(model.modelId, id);
    assert.equal(model.version, 1);
    assert.equal(model.latestVersion, 1);
    assert.equal(model.weightsSha256, sha256Hex(v1));
    assert.equal(model.weightsCid, (await chain.storage.put(v1)).cid);
    assert.equal(model.pricePerCall, 1234n);
    assert.equal(model.operatorFeeBps, 250);
    assert.equal(model.paused, false);
    const shares = await chain.harness.publicClient.readContract({
      address: chain.harness.deployment.contracts.registry,
      abi: (await import("../../sdk/contracts.ts")).modelRegistryAbi,
      functionName: "sharesOf",
      args: [id],
    });
    assert.equal(model.shares, shares);
    assert.deepEqual(model.inputs, [{ name: "input", type: "float32", shape: ["batch", 4] }]);
    assert.deepEqual(model.outputs, [{ name: "probabilities", type: "float32", shape: ["batch", 3] }]);

    const outputs = await model.run(parseInputs(model.inputs, sample));
    assert.deepEqual(outputs.probabilities!.dims, [1, 3]);
    assert.deepEqual([...outputs.probabilities!.data], await reference(v1, sample.input[0]!));
  });

  it("serves the latest version by default and any published version when pinned", async () => {
    const id = await chain.mint(v1);
    const catalog = chain.catalog({ termsTtlMs: 3_600_000, termsRetryMs: 0 });
    assert.equal((await catalog.load(id)).version, 1);
    assert.equal(await chain.publish(id, v2), 2);

    // Within the TTL the cached terms still name version 1 the latest...
    assert.equal((await catalog.load(id)).version, 1);
    // ...but pinning a version above it makes the catalog look again.
    const pinned = await catalog.load(id, 2);
    assert.equal(pinned.version, 2);
    assert.equal(pinned.weightsSha256, sha256Hex(v2));
    const latest = await catalog.load(id);
    assert.equal(latest.version, 2);
    assert.equal(latest.latestVersion, 2);
    const old = await catalog.load(id, 1);
    assert.equal(old.version, 1);
    assert.equal(old.latestVersion, 2);
    assert.equal(old.weightsSha256, sha256Hex(v1));

    const [a, b] = await Promise.all([old.run(parseInputs(old.inputs, sample)), latest.run(parseInputs(latest.inputs, sample))]);
    assert.deepEqual([...a.probabilities!.data], await reference(v1, sample.input[0]!));
    assert.deepEqual([...b.probabilities!.data], await reference(v2, sample.input[0]!));
    assert.notDeepEqual([...a.probabilities!.data], [...b.probabilities!.data]);
  });

  it("shares one load between concurrent callers", async () => {
    const id = await chain.mint(buildTinyClassifier({ seed: 11 }));
    const storage = countingStorage(chain.storage);
    const catalog = chain.catalog({ storage });
    const models = await Promise.all(Array.from({ length: 20 }, () => catalog.load(id)));
    assert.equal(storage.gets, 1);
    assert.equal(new Set(models).size, 1, "every caller gets the same served model");
    assert.deepEqual(catalog.loadedKeys(), [`${id}:1`]);
  });

  it("answers from memory once warm: no RPC call and no storage read per request", async () => {
    const id = await chain.mint(buildTinyClassifier({ seed: 12 }));
    const storage = countingStorage(chain.storage);
    const catalog = chain.catalog({ storage });
    assert.equal(catalog.peek(id), undefined, "nothing is known before the first load");
    await catalog.load(id);
    const calls = chain.proxy.total;
    const reads = storage.gets;
    for (let i = 0; i < 200; i++) {
      const model = catalog.peek(id);
      assert.ok(model, "a loaded model with fresh terms is in memory");
      const out = await model.run(parseInputs(model.inputs, { input: [[i, 1, 2, 3]] }));
      assert.equal(out.probabilities!.data.length, 3);
      await catalog.load(id);
    }
    assert.equal(chain.proxy.total, calls);
    assert.equal(storage.gets, reads);
  });
});

describe("refusing a model", () => {
  it("never creates a session for weights whose sha256 is not the registry's, and does not refetch them", async () => {
    const wrong = sha256Hex(new TextEncoder().encode("not these weights"));
    const weights = buildTinyClassifier({ seed: 21 });
    const id = await chain.mint(weights, { sha256: wrong });
    const clock = manualClock();
    const storage = countingStorage(chain.storage);
    const catalog = chain.catalog({ storage, now: clock.now, failureTtlMs: 60_000 });
    const message = new RegExp(`hash to sha256 ${sha256Hex(weights)}, but the registry records ${wrong}: refused`);
    await rejectsWith(catalog.load(id), "weights_mismatch", 502, message);
    assert.deepEqual(catalog.loadedKeys(), []);
    assert.equal(catalog.peek(id), undefined);
    await rejectsWith(catalog.load(id), "weights_mismatch", 502, message);
    assert.equal(storage.gets, 1, "a mismatch is remembered");
    clock.advance(60_000);
    await rejectsWith(catalog.load(id), "weights_mismatch", 502, message);
    assert.equal(storage.gets, 2, "and checked again once the failure TTL is over");
    assert.deepEqual(catalog.loadedKeys(), []);
  });

  it("reports weights missing from storage as unavailable, and loads them once they appear", async () => {
    const weights = buildTinyClassifier({ seed: 22 });
    const id = await chain.mint(weights, { store: false });
    const catalog = chain.catalog();
    await rejectsWith(catalog.load(id), "weights_unavailable", 503, /cannot be fetched from local storage: .* is not in the local store/);
    await rejectsWith(catalog.load(id), "weights_unavailable", 503);
    await chain.storage.put(weights);
    const model = await catalog.load(id);
    assert.equal(model.weightsSha256, sha256Hex(weights));
  });

  it("refuses bytes that are not an ONNX model, with the registry's hash matching them", async () => {
    const id = await chain.mint(new TextEncoder().encode("this is not a protobuf"));
    const catalog = chain.catalog();
    await rejectsWith(catalog.load(id), "model_invalid", 502, new RegExp(`model ${id} v1 cannot be loaded by onnxruntime`));
    assert.deepEqual(catalog.loadedKeys(), []);
  });

  it("tells unknown models and versions apart", async () => {
    const id = await chain.mint(buildTinyClassifier({ seed: 23 }));
    const catalog = chain.catalog({ termsRetryMs: 0 });
    await rejectsWith(catalog.load(10_000n), "unknown_model", 404, /^model 10000 does not exist on the registry$/);
    await rejectsWith(catalog.load(0n), "unknown_model", 404);
    await rejectsWith(catalog.load(id, 2), "unknown_version", 404, new RegExp(`^model ${id} has no version 2 \\(the latest is 1\\)$`));
    await rejectsWith(catalog.load(id, 0), "unknown_version", 404);
    // A model minted after the catalog read the model count is found.
    const later = await chain.mint(buildTinyClassifier({ seed: 24 }));
    assert.equal((await catalog.load(later)).modelId, later);
    assert.equal(parseModelId("42"), 42n);
    assert.throws(() => parseModelId("4x"), (e: unknown) => e instanceof ModelError && e.code === "unknown_model" && e.status === 404);
    assert.throws(() => parseModelId("1".repeat(79)), ModelError);
  });

  it("serves only the allow list, without asking the chain about anything else", async () => {
    const served = await chain.mint(buildTinyClassifier({ seed: 25 }));
    const other = await chain.mint(buildTinyClassifier({ seed: 26 }));
    const catalog = chain.catalog({ serve: [served] });
    assert.equal((await catalog.load(served)).modelId, served);
    const calls = chain.proxy.total;
    await rejectsWith(catalog.load(other), "model_not_served", 404, new RegExp(`^model ${other} is not served by this gateway$`));
    await rejectsWith(catalog.terms(other), "model_not_served", 404);
    assert.equal(catalog.peek(other), undefined);
    assert.equal(chain.proxy.total, calls);
    const rows = await catalog.list();
    assert.deepEqual(rows.map((r) => r.modelId), [served]);
  });
});

describe("the session cache", () => {
  it("evicts the least recently used session beyond maxSessions, and reloads an evicted model on use", async () => {
    const ids = [];
    for (const seed of [31, 32, 33]) ids.push(await chain.mint(buildTinyClassifier({ seed })));
    const [a, b, c] = ids as [bigint, bigint, bigint];
    const storage = countingStorage(chain.storage);
    const catalog = chain.catalog({ storage, maxSessions: 2 });
    const modelA = await catalog.load(a);
    await catalog.load(b);
    assert.ok(catalog.peek(a), "touching a makes b the oldest");
    await catalog.load(c);
    assert.deepEqual(catalog.loadedKeys(), [`${a}:1`, `${c}:1`]);
    assert.equal(catalog.peek(b), undefined);
    await catalog.load(b);
    assert.deepEqual(catalog.loadedKeys(), [`${c}:1`, `${b}:1`]);
    assert.equal(storage.gets, 4);

    // A caller still holding model a (evicted now) can run it: the catalog loads it again.
    const out = await modelA.run(parseInputs(modelA.inputs, sample));
    assert.deepEqual([...out.probabilities!.data], await reference(buildTinyClassifier({ seed: 31 }), sample.input[0]!));
    assert.deepEqual(catalog.loadedKeys(), [`${b}:1`, `${a}:1`]);
  });

  it("keeps the weights' bytes within the byte budget, but never refuses one model for its size", async () => {
    const big = buildTinyClassifier({ seed: 34, padBytes: 200_000 });
    const small = buildTinyClassifier({ seed: 35 });
    const bigId = await chain.mint(big);
    const smallId = await chain.mint(small);
    const catalog = chain.catalog({ maxSessionBytes: 100_000 });
    await catalog.load(smallId);
    await catalog.load(bigId);
    assert.deepEqual(catalog.loadedKeys(), [`${bigId}:1`], "the big model alone is over budget, so it stays alone");
    await catalog.load(smallId);
    assert.deepEqual(catalog.loadedKeys(), [`${smallId}:1`]);
  });

  it("finishes runs in flight on a session evicted under it", async () => {
    const ids = [await chain.mint(buildTinyClassifier({ seed: 36 })), await chain.mint(buildTinyClassifier({ seed: 37 }))];
    const catalog = chain.catalog({ maxSessions: 1 });
    const first = await catalog.load(ids[0]!);
    const feeds = parseInputs(first.inputs, sample);
    const runs = Array.from({ length: 50 }, () => first.run(feeds));
    await catalog.load(ids[1]!); // evicts the first while its runs are pending
    const results = await Promise.all(runs);
    const expected = await reference(buildTinyClassifier({ seed: 36 }), sample.input[0]!);
    for (const r of results) assert.deepEqual([...r.probabilities!.data], expected);
  });
});

describe("terms", () => {
  it("are served from cache within the TTL, then refreshed after setPrice and setPaused", async () => {
    const id = await chain.mint(buildTinyClassifier({ seed: 41 }), { price: 1_000n });
    const clock = manualClock();
    const catalog = chain.catalog({ now: clock.now, termsTtlMs: 10_000, termsRetryMs: 1_000 });
    const before = await catalog.load(id);
    assert.equal(before.pricePerCall, 1_000n);
    await chain.setPrice(id, 2_500n);
    await chain.setPaused(id, true);

    clock.advance(9_999);
    assert.equal((await catalog.terms(id)).pricePerCall, 1_000n, "within the TTL the chain is not asked");
    assert.equal(catalog.peek(id), before);

    clock.advance(1);
    const calls = chain.proxy.total;
    assert.equal(catalog.peek(id), undefined, "stale terms are not served from peek...");
    assert.equal((await catalog.load(id)).pricePerCall, 1_000n, "...but load answers with them at once while they refresh");
    const fresh = await catalog.refreshTerms(id); // joins the refresh already running
    assert.equal(chain.proxy.total, calls + 1, "one read refreshed them");
    assert.equal(fresh.pricePerCall, 2_500n);
    assert.equal(fresh.paused, true);
    const after = catalog.peek(id);
    assert.ok(after);
    assert.equal(after.pricePerCall, 2_500n);
    assert.equal(after.paused, true);
    assert.notEqual(after, before, "a served model is a snapshot: new terms, new object");
    assert.equal(before.pricePerCall, 1_000n);
    await chain.setPaused(id, false);
  });

  it("keep being served while the RPC is down, for models already known", async () => {
    const known = await chain.mint(buildTinyClassifier({ seed: 42 }), { price: 777n });
    const unseen = await chain.mint(buildTinyClassifier({ seed: 43 }));
    const clock = manualClock();
    const logger = recordingLogger();
    const catalog = chain.catalog({ now: clock.now, termsTtlMs: 5_000, termsRetryMs: 1_000, logger, serve: [known, unseen] });
    await catalog.load(known);
    await chain.proxy.stop();
    try {
      clock.advance(60_000);
      assert.equal((await catalog.terms(known)).pricePerCall, 777n);
      await assert.rejects(catalog.refreshTerms(known), (e: unknown) => e instanceof ModelError && e.code === "registry_unavailable");
      const warnings = logger.entries.filter((e) => e.level === "warn" && e.msg?.includes("serving the last known terms"));
      assert.equal(warnings.length, 1, "the outage is logged once");
      const model = await catalog.load(known);
      assert.equal(model.pricePerCall, 777n);
      const out = await model.run(parseInputs(model.inputs, sample));
      assert.equal(out.probabilities!.data.length, 3);

      await rejectsWith(catalog.load(unseen), "registry_unavailable", 503, /cannot read model .* from the registry/);
      const rows = await catalog.list();
      assert.equal((rows[0] as ModelSummary).pricePerCall, 777n);
      assert.deepEqual((rows[1] as { error: { code: string } }).error.code, "registry_unavailable");
    } finally {
      await chain.proxy.start();
    }
    clock.advance(1_000);
    await catalog.refreshTerms(known);
    assert.ok(catalog.peek(known), "fresh again once the RPC answers");
    assert.ok(logger.entries.some((e) => e.level === "info" && e.msg?.includes("reachable again")));
    assert.equal((await catalog.load(unseen)).modelId, unseen);
  });

  it("follows registry events read by the chain watcher before the TTL runs out", async () => {
    const id = await chain.mint(buildTinyClassifier({ seed: 44 }), { price: 100n });
    const catalog = chain.catalog({ termsTtlMs: 3_600_000 });
    const { deployment } = chain.harness;
    const publicClient = createPublicClient({ chain: hardhat, transport: http(chain.harness.rpcUrl) });
    const watcher = new ChainWatcher({
      client: publicClient,
      vault: deployment.contracts.vault,
      operator: deployment.contracts.vault,
      payers: new PayerBook(publicClient, deployment.contracts.vault),
      lanes: new LaneBook(),
      registry: { address: deployment.contracts.registry, changed: (modelId) => catalog.registryChanged(modelId) },
      intervalMs: 3_600_000,
      staleAfterMs: 3_600_000,
    });
    await watcher.start();
    try {
      await catalog.load(id);
      await chain.setPrice(id, 200n);
      await chain.publish(id, buildTinyClassifier({ seed: 45 }));
      assert.equal((await catalog.terms(id)).pricePerCall, 100n, "cached within the TTL until an event says otherwise");
      // A poll resolves once what its events invalidated has been read again.
      await watcher.poll();
      const terms = await catalog.terms(id);
      assert.equal(terms.pricePerCall, 200n);
      assert.equal(terms.latestVersion, 2);
      assert.equal((await catalog.load(id)).version, 2);
      const minted = await chain.mint(buildTinyClassifier({ seed: 46 }), { price: 100n });
      await watcher.poll();
      assert.ok((await catalog.list()).some((row) => row.modelId === minted), "a model minted since is listed at once");
    } finally {
      await watcher.stop();
      catalog.close();
    }
  });
});

describe("listing", () => {
  it("lists every served model with its signature, and an error row for each that cannot be served", async () => {
    const good = await chain.mint(buildTinyClassifier({ seed: 51, features: 6, classes: 2 }), { price: 42n });
    const bad = await chain.mint(buildTinyClassifier({ seed: 52 }), { sha256: sha256Hex(new Uint8Array([1])) });
    const catalog = chain.catalog({ maxSessions: 2 });
    const rows = await catalog.list();
    const next = await chain.harness.publicClient.readContract({
      address: chain.harness.deployment.contracts.registry,
      abi: (await import("../../sdk/contracts.ts")).modelRegistryAbi,
      functionName: "nextModelId",
    });
    assert.deepEqual(rows.map((r) => r.modelId), Array.from({ length: Number(next) - 1 }, (_, i) => BigInt(i + 1)));
    const row = rows.find((r) => r.modelId === good) as ModelSummary;
    assert.equal(row.pricePerCall, 42n);
    assert.equal(row.version, 1);
    assert.deepEqual(row.inputs, [{ name: "input", type: "float32", shape: ["batch", 6] }]);
    assert.deepEqual(row.outputs, [{ name: "probabilities", type: "float32", shape: ["batch", 2] }]);
    const badRow = rows.find((r) => r.modelId === bad) as { error: { code: string; message: string } };
    assert.equal(badRow.error.code, "weights_mismatch");
    assert.ok(catalog.loadedKeys().length <= 2, "listing stays within the session budget");
    const json = JSON.parse(JSON.stringify(listingToJson(row)));
    assert.equal(json.modelId, String(good));
    assert.equal(json.pricePerCall, "42");
    // Signatures are remembered: listing again loads nothing.
    const storage = countingStorage(chain.storage);
    const again = chain.catalog({ storage, serve: [good] });
    await again.list();
    await again.list();
    assert.equal(storage.gets, 1);
  });
});

describe("inference", () => {
  it("runs many calls at once on one session, each with its own answer", async () => {
    const weights = buildTinyClassifier({ seed: 61 });
    const model = await chain.catalog().load(await chain.mint(weights));
    const inputs = Array.from({ length: 200 }, (_, i) => [i / 10, 1 - i / 100, (i % 7) - 3, 0.5]);
    const outputs = await Promise.all(inputs.map((row) => model.run(parseInputs(model.inputs, { input: [row] }))));
    for (const [i, row] of inputs.entries()) {
      if (i % 20 === 0) assert.deepEqual([...outputs[i]!.probabilities!.data], await reference(weights, row));
    }
    assert.equal(new Set(outputs.map((o) => [...o.probabilities!.data].join())).size, 200);
  });

  it("reports a run that overruns its deadline as inference_timeout, and runs it when given time", async () => {
    const { buildSlowModel } = await import("./models-fixture.ts");
    const model = await chain.catalog({ runTimeoutMs: 1 }).load(await chain.mint(buildSlowModel()));
    const feeds = { x: { type: "float32" as const, dims: [256, 256], data: new Float32Array(256 * 256).fill(0.01) } };
    await rejectsWith(model.run(feeds), "inference_timeout", 504, /did not answer within 1 ms/);
    const out = await model.run(feeds, { timeoutMs: 60_000 });
    assert.deepEqual(out.y!.dims, [256, 256]);
  });

  it("reports a model failing on valid input as inference_failed, and onnxruntime's input checks as bad input", async () => {
    const { buildReshapeModel } = await import("./models-fixture.ts");
    const id = await chain.mint(buildReshapeModel());
    const model = await chain.catalog().load(id);
    const ok = await model.run(parseInputs(model.inputs, { x: [[1, 2, 3]] }));
    assert.deepEqual(ok.y!.dims, [1, 3]);
    await rejectsWith(model.run(parseInputs(model.inputs, { x: [[1, 2, 3, 4]] })), "inference_failed", 500,
      new RegExp(`^model ${id} v1 failed: Reshape node "reshape": The input tensor cannot be reshaped to the requested shape\\. Input shape:\\{1,4\\}, requested shape:\\{-1,3\\}$`));
    // A caller that skipped parseInputs still gets a 4xx for what onnxruntime refuses as input.
    await assert.rejects(model.run({ x: { type: "float32", dims: [4], data: new Float32Array(4) } }), (e: unknown) => {
      const error = e as { code?: string; status?: number };
      return error.code === "bad_shape" && error.status === 400;
    });
  });

  it("stops serving when closed, after the runs in flight", async () => {
    const catalog = chain.catalog();
    const id = await chain.mint(buildTinyClassifier({ seed: 62 }));
    const model = await catalog.load(id);
    const pending = Array.from({ length: 10 }, () => model.run(parseInputs(model.inputs, sample)));
    catalog.close();
    assert.equal((await Promise.all(pending)).length, 10);
    await rejectsWith(catalog.load(id), "catalog_closed", 503);
    assert.equal(catalog.peek(id), undefined);
  });
});

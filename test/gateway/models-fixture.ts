// A real chain for the model layer's tests: a `hardhat node` with the protocol deployed (test/cli/harness.ts), a real
// local content-addressed store, models minted through the registry with their real weights CIDs and hashes, and a
// JSON-RPC proxy in front of the node that counts calls and can be taken down, so tests can prove the request path
// does not touch the chain and can cut the gateway's RPC without stopping the chain.
import { createServer, type Server } from "node:http";
import onnxProto from "onnx-proto";
import type { Socket } from "node:net";
import path from "node:path";
import { createPublicClient, http, toHex, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { hardhat } from "viem/chains";
import { connect, modelRegistryAbi } from "../../sdk/contracts.ts";
import { cidOf, cidToBytes, sha256Hex } from "../../sdk/storage/cid.ts";
import { LocalStorage } from "../../sdk/storage/local.ts";
import type { StorageAdapter } from "../../sdk/storage/types.ts";
import { TENSOR_TYPE_CODES, type TensorType } from "../../sdk/tensors.ts";
import { ModelCatalog, type ModelCatalogOptions } from "../../gateway/models/catalog.ts";
import type { Logger } from "../../gateway/models/logger.ts";
import { KEYS, startHarness, type Harness } from "../cli/harness.ts";

export interface MintOptions {
  /** Registered sha256; defaults to the real one. */
  sha256?: Hex;
  price?: bigint;
  operatorFeeBps?: number;
  /** Put the weights in the store (default true). */
  store?: boolean;
}

/** A JSON-RPC forwarder on its own port: counts calls by method, and can be stopped and started again. */
export class RpcProxy {
  readonly #target: string;
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;
  #port = 0;
  calls = new Map<string, number>();

  constructor(target: string) {
    this.#target = target;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** Total calls forwarded (batched requests count each call). */
  get total(): number {
    let n = 0;
    for (const count of this.calls.values()) n += count;
    return n;
  }

  async start(): Promise<void> {
    const server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks).toString("utf8");
      const parsed = JSON.parse(body) as { method: string } | { method: string }[];
      for (const call of Array.isArray(parsed) ? parsed : [parsed]) this.calls.set(call.method, (this.calls.get(call.method) ?? 0) + 1);
      const answer = await fetch(this.#target, { method: "POST", headers: { "content-type": "application/json" }, body });
      res.writeHead(answer.status, { "content-type": "application/json" }).end(await answer.text());
    });
    server.on("connection", (socket) => {
      this.#sockets.add(socket);
      socket.on("close", () => this.#sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.#port, "127.0.0.1", () => resolve());
    });
    this.#port = (server.address() as { port: number }).port;
    this.#server = server;
  }

  /** The RPC goes down: new connections are refused and open ones are cut. */
  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    const closed = new Promise((resolve) => server.close(resolve));
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }
}

/** Records what a catalog logs, for assertions. */
export function recordingLogger(): Logger & { entries: { level: string; msg: string | undefined; obj: object }[] } {
  const entries: { level: string; msg: string | undefined; obj: object }[] = [];
  const at = (level: string) => (obj: object, msg?: string) => void entries.push({ level, msg, obj });
  return { entries, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** Delegates to a real store and counts reads, to show what the catalog fetches and when. */
export function countingStorage(inner: StorageAdapter): StorageAdapter & { gets: number } {
  const counted = {
    kind: inner.kind,
    gets: 0,
    put: (bytes: Uint8Array) => inner.put(bytes),
    get: (cid: string) => {
      counted.gets++;
      return inner.get(cid);
    },
    has: (cid: string) => inner.has(cid),
  };
  return counted;
}

/** A clock the test moves by hand. */
export function manualClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

export interface ModelsChain {
  harness: Harness;
  storage: LocalStorage;
  proxy: RpcProxy;
  /** Stores `weights` (unless told not to) and mints a model with their CID and sha256; returns its id. */
  mint(weights: Uint8Array, options?: MintOptions): Promise<bigint>;
  /** Publishes `weights` as a new version; returns the version number. */
  publish(modelId: bigint, weights: Uint8Array, options?: Pick<MintOptions, "sha256" | "store">): Promise<number>;
  setPrice(modelId: bigint, price: bigint): Promise<void>;
  setPaused(modelId: bigint, paused: boolean): Promise<void>;
  /** A catalog reading the chain through the proxy. */
  catalog(options?: Partial<ModelCatalogOptions>): ModelCatalog;
  stop(): Promise<void>;
}

export async function startModelsChain(): Promise<ModelsChain> {
  const harness = await startHarness();
  const storage = new LocalStorage(path.join(harness.dir, "store"));
  const proxy = new RpcProxy(harness.rpcUrl);
  await proxy.start();
  const account = privateKeyToAccount(KEYS[0]);
  const wallet = harness.wallet(KEYS[0]);
  const registry = harness.deployment.contracts.registry;
  const catalogs: ModelCatalog[] = [];

  async function send(functionName: "mint" | "publishVersion" | "setPrice" | "setPaused", args: readonly unknown[]): Promise<void> {
    const { request } = await harness.publicClient.simulateContract({
      address: registry,
      abi: modelRegistryAbi,
      functionName,
      args: args as never,
      account,
    });
    const hash = await wallet.writeContract(request as never);
    const receipt = await harness.publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`${functionName} reverted`);
  }

  async function stored(weights: Uint8Array, store: boolean): Promise<Hex> {
    const cid = store ? (await storage.put(weights)).cid : await cidOf(weights);
    return toHex(cidToBytes(cid));
  }

  const metadataCid = toHex(cidToBytes((await storage.put(new TextEncoder().encode('{"name":"test model"}'))).cid));

  return {
    harness,
    storage,
    proxy,
    async mint(weights, options = {}) {
      const id = await harness.publicClient.readContract({ address: registry, abi: modelRegistryAbi, functionName: "nextModelId" });
      await send("mint", [
        {
          weightsSha256: options.sha256 ?? sha256Hex(weights),
          weightsCid: await stored(weights, options.store ?? true),
          metadataCid,
          pricePerCall: options.price ?? 1_000n,
          operatorFeeBps: options.operatorFeeBps ?? 500,
          parentIds: [],
          parentBps: [],
          recipients: [account.address],
          amounts: [1_000n * 10n ** 18n],
        },
      ]);
      return id;
    },
    async publish(modelId, weights, options = {}) {
      await send("publishVersion", [modelId, options.sha256 ?? sha256Hex(weights), await stored(weights, options.store ?? true), metadataCid]);
      const info = await harness.publicClient.readContract({ address: registry, abi: modelRegistryAbi, functionName: "modelOf", args: [modelId] });
      return info.latestVersion;
    },
    async setPrice(modelId, price) {
      await send("setPrice", [modelId, price]);
    },
    async setPaused(modelId, paused) {
      await send("setPaused", [modelId, paused]);
    },
    catalog(options = {}) {
      const publicClient = createPublicClient({ chain: hardhat, transport: http(proxy.url, { retryCount: 0, timeout: 5_000 }), pollingInterval: 50 });
      const catalog = new ModelCatalog({ contracts: connect({ publicClient }, harness.deployment), storage, serve: "all", ...options });
      catalogs.push(catalog);
      return catalog;
    },
    async stop() {
      for (const catalog of catalogs) catalog.close();
      await proxy.stop();
      await harness.stop();
    },
  };
}

// Models built in code for what the tiny classifier cannot show.
const { onnx } = onnxProto;

export interface ValueSpec {
  name: string;
  type: TensorType;
  shape: (number | string)[];
}

function valueInfo({ name, type, shape }: ValueSpec) {
  const dim = shape.map((d) => (typeof d === "number" ? { dimValue: d } : d === "" ? {} : { dimParam: d }));
  return onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: TENSOR_TYPE_CODES[type], shape: { dim } } } });
}

function encodeModel(graph: Record<string, unknown>, opset = 17): Uint8Array {
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({ irVersion: 8, producerName: "modelshare-tests", opsetImport: [{ domain: "", version: opset }], graph }),
  ).finish();
}

/** One Identity per input: input `x_<name>` is answered as output `y_<name>`, for any element type. */
export function buildIdentityModel(inputs: ValueSpec[]): Uint8Array {
  return encodeModel({
    name: "identity",
    node: inputs.map((v) => ({ opType: "Identity", input: [v.name], output: [`${v.name}_out`], name: `id_${v.name}` })),
    input: inputs.map(valueInfo),
    output: inputs.map((v) => valueInfo({ ...v, name: `${v.name}_out` })),
  });
}

/** `steps` chained products of a square float matrix with itself: slow enough to overrun a 1 ms deadline. */
export function buildSlowModel(size = 256, steps = 8): Uint8Array {
  const node = Array.from({ length: steps }, (_, i) => ({
    opType: "MatMul",
    input: [i === 0 ? "x" : `m${i - 1}`, "x"],
    output: [i === steps - 1 ? "y" : `m${i}`],
    name: `matmul_${i}`,
  }));
  return encodeModel({
    name: "slow",
    node,
    input: [valueInfo({ name: "x", type: "float32", shape: [size, size] })],
    output: [valueInfo({ name: "y", type: "float32", shape: [size, size] })],
  });
}

/** Reshapes [batch, n] into rows of 3: valid for the signature whatever n is, but fails at run time unless 3 | batch·n. */
export function buildReshapeModel(): Uint8Array {
  const shape = onnx.TensorProto.create({ name: "rows_of_3", dims: [2], dataType: TENSOR_TYPE_CODES.int64, int64Data: [-1, 3] });
  return encodeModel({
    name: "reshape",
    node: [{ opType: "Reshape", input: ["x", "rows_of_3"], output: ["y"], name: "reshape" }],
    initializer: [shape],
    input: [valueInfo({ name: "x", type: "float32", shape: ["batch", "n"] })],
    output: [valueInfo({ name: "y", type: "float32", shape: ["", 3] })],
  });
}

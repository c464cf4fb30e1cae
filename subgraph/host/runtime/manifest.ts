// The built manifest (`graph build`'s subgraph.yaml and the files it names): data sources with their address,
// start block, ABI and event handlers, templates, the schema, and each mapping compiled once. Everything the host
// cannot run is refused here with a message that says what and where, before any block is indexed.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { isAddress, keccak256, stringToBytes, type AbiEvent, type AbiParameter, type Hex } from "viem";
import type { Entity, StoreValue } from "../store/types.ts";
import { MappingModule, type InstanceMode } from "./mapping.ts";
import { parseSubgraphSchema, type SubgraphSchema } from "../schema.ts";
import { fromString as parseBigDecimal, toString as formatBigDecimal } from "./bigdecimal.ts";
import type { HostFunctions } from "./host/index.ts";

export class ManifestError extends Error {
  override name = "ManifestError";
}

export interface EventHandlerSpec {
  /** The signature as the manifest writes it, e.g. `Transfer(indexed address,indexed address,uint256)`. */
  event: string;
  handler: string;
  topic0: Hex;
  abiEvent: AbiEvent;
  /** Accepted values of topics 1–3 (lowercase), when the manifest filters on them. */
  topicFilters: readonly (ReadonlySet<string> | null)[];
}

interface MappingSpec {
  name: string;
  network: string;
  abiName: string;
  apiVersion: string;
  /** Absolute path of the WASM file. */
  file: string;
  mapping: MappingModule;
  handlers: readonly EventHandlerSpec[];
}

export interface DataSourceSpec extends MappingSpec {
  /** 0x-prefixed lowercase. */
  address: Hex;
  startBlock: number;
  endBlock: number | null;
  context: Entity | null;
}

export type TemplateSpec = MappingSpec;

export interface Manifest {
  /** Folder of the built manifest. */
  dir: string;
  specVersion: string;
  network: string;
  /** The parsed schema.graphql, as the store and the GraphQL layer take it. */
  schema: SubgraphSchema;
  dataSources: readonly DataSourceSpec[];
  templates: readonly TemplateSpec[];
}

const contextEntry = z.object({ type: z.string(), data: z.unknown() });

const eventHandler = z.looseObject({
  event: z.string().min(1),
  handler: z.string().min(1),
  topic1: z.array(z.string()).optional(),
  topic2: z.array(z.string()).optional(),
  topic3: z.array(z.string()).optional(),
  receipt: z.boolean().optional(),
  calls: z.record(z.string(), z.string()).optional(),
});

const mapping = z.looseObject({
  kind: z.literal("ethereum/events"),
  apiVersion: z.string(),
  language: z.literal("wasm/assemblyscript"),
  abis: z.array(z.object({ name: z.string(), file: z.string() })).min(1),
  eventHandlers: z.array(eventHandler).default([]),
  blockHandlers: z.array(z.unknown()).optional(),
  callHandlers: z.array(z.unknown()).optional(),
  file: z.string(),
});

const dataSource = z.looseObject({
  kind: z.enum(["ethereum", "ethereum/contract"]),
  name: z.string().min(1),
  network: z.string().min(1),
  source: z.looseObject({
    address: z.string().optional(),
    abi: z.string(),
    startBlock: z.number().int().nonnegative().default(0),
    endBlock: z.number().int().nonnegative().optional(),
  }),
  context: z.record(z.string(), contextEntry).optional(),
  mapping,
});

const template = z.looseObject({
  kind: z.enum(["ethereum", "ethereum/contract"]),
  name: z.string().min(1),
  network: z.string().min(1),
  source: z.looseObject({ abi: z.string() }),
  mapping,
});

const manifestSchema = z.looseObject({
  specVersion: z.string(),
  schema: z.object({ file: z.string() }),
  dataSources: z.array(z.looseObject({ kind: z.string(), name: z.string().optional() })).min(1),
  templates: z.array(z.looseObject({ kind: z.string(), name: z.string().optional() })).default([]),
});

function formatIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
}

/** The event's canonical signature: `Name(type,...)`, tuples spelled out, `indexed` markers dropped. */
function canonical(signature: string): string {
  return signature.replaceAll("indexed ", "").replace(/\s+/g, "");
}

function formatType(param: AbiParameter): string {
  if (param.type.startsWith("tuple")) {
    const components = (param as AbiParameter & { components: readonly AbiParameter[] }).components;
    return `(${components.map(formatType).join(",")})${param.type.slice("tuple".length)}`;
  }
  return param.type;
}

/** The manifest's form of an ABI event: `Name(indexed type,type)`. */
function manifestSignature(event: AbiEvent): string {
  return `${event.name}(${event.inputs.map((i) => `${i.indexed ? "indexed " : ""}${formatType(i)}`).join(",")})`;
}

async function readAbi(file: string, where: string): Promise<readonly unknown[]> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, "utf8"));
  } catch (error) {
    throw new ManifestError(`${where}: cannot read ABI ${file}: ${(error as Error).message}`);
  }
  // graph-cli copies plain ABIs; Truffle/Hardhat artifacts keep theirs under `abi`.
  const abi = Array.isArray(json) ? json : (json as { abi?: unknown }).abi;
  if (!Array.isArray(abi)) throw new ManifestError(`${where}: ${file} is not an ABI (a JSON array of ABI items)`);
  return abi;
}

function contextValue(entry: z.infer<typeof contextEntry>, where: string): StoreValue {
  const { type, data } = entry;
  const fail = () => new ManifestError(`${where}: context value of type ${type} is invalid: ${JSON.stringify(data)}`);
  switch (type) {
    case "Bool":
      if (typeof data !== "boolean") throw fail();
      return { kind: "Boolean", value: data };
    case "String":
      if (typeof data !== "string") throw fail();
      return { kind: "String", value: data };
    case "Int":
      if (!Number.isInteger(data)) throw fail();
      return { kind: "Int", value: data as number };
    case "Int8":
    case "BigInt": {
      if (typeof data !== "string" && typeof data !== "number") throw fail();
      let value: bigint;
      try {
        value = BigInt(data);
      } catch {
        throw fail();
      }
      return { kind: type, value };
    }
    case "BigDecimal": {
      const value = typeof data === "string" || typeof data === "number" ? parseBigDecimal(String(data)) : null;
      if (!value) throw fail();
      return { kind: "BigDecimal", value: formatBigDecimal(value) };
    }
    case "Bytes":
      if (typeof data !== "string" || !/^0x([0-9a-fA-F]{2})*$/.test(data)) throw fail();
      return { kind: "Bytes", value: Buffer.from(data.slice(2), "hex") };
    case "List":
      if (!Array.isArray(data)) throw fail();
      return { kind: "Array", value: data.map((d) => contextValue(contextEntry.parse(d), where)) };
    default:
      throw new ManifestError(`${where}: unknown context value type ${type}`);
  }
}

export interface LoadManifestOptions {
  /** Host functions to link (default: all the host implements); tests use this to leave one out. */
  hostFunctions?: HostFunctions;
  /** How each trigger gets a pristine instance (default "rewind"; see mapping.ts). */
  instances?: InstanceMode;
}

/** Reads `buildDir/subgraph.yaml` (or a manifest file path) and everything it names. */
export async function loadManifest(buildDirOrFile: string, options: LoadManifestOptions = {}): Promise<Manifest> {
  const file = buildDirOrFile.endsWith(".yaml") || buildDirOrFile.endsWith(".yml") ? buildDirOrFile : path.join(buildDirOrFile, "subgraph.yaml");
  const dir = path.dirname(path.resolve(file));
  let raw: unknown;
  try {
    raw = parseYaml(await readFile(file, "utf8"));
  } catch (error) {
    throw new ManifestError(`cannot read the built manifest ${file}: ${(error as Error).message} (run \`npm run subgraph:build\` first)`);
  }
  const top = manifestSchema.safeParse(raw);
  if (!top.success) throw new ManifestError(`${file}: ${formatIssues(top.error)}`);

  const schemaFile = path.resolve(dir, top.data.schema.file);
  const schemaSource = await readFile(schemaFile, "utf8").catch((error: Error) => {
    throw new ManifestError(`${file}: cannot read the schema ${schemaFile}: ${error.message}`);
  });
  let schema: SubgraphSchema;
  try {
    schema = parseSubgraphSchema(schemaSource);
  } catch (error) {
    throw new ManifestError(`${schemaFile}: ${(error as Error).message}`);
  }

  const modules = new Map<string, MappingModule>();

  async function loadMapping(
    kind: "data source" | "template",
    spec: z.infer<typeof dataSource> | z.infer<typeof template>,
  ): Promise<Omit<MappingSpec, "name" | "network">> {
    const where = `${kind} ${spec.name}`;
    const m = spec.mapping;
    if (m.blockHandlers?.length) throw new ManifestError(`${where}: block handlers are not supported by the embedded host`);
    if (m.callHandlers?.length) throw new ManifestError(`${where}: call handlers are not supported by the embedded host`);
    if (m.eventHandlers.length === 0) throw new ManifestError(`${where}: no event handlers`);
    const abiFile = m.abis.find((a) => a.name === spec.source.abi);
    if (!abiFile) throw new ManifestError(`${where}: source.abi ${spec.source.abi} is not among mapping.abis`);
    const abi = await readAbi(path.resolve(dir, abiFile.file), where);
    const events = (abi as { type?: string }[]).filter((item): item is AbiEvent => item.type === "event");

    const wasmFile = path.resolve(dir, m.file);
    const key = `${wasmFile}@${m.apiVersion}`;
    let module = modules.get(key);
    if (!module) {
      const wasm = await readFile(wasmFile).catch((error: Error) => {
        throw new ManifestError(`${where}: cannot read the mapping ${wasmFile}: ${error.message}`);
      });
      module = new MappingModule(spec.name, wasm, m.apiVersion, { hostFunctions: options.hostFunctions, instances: options.instances });
      modules.set(key, module);
    }

    const handlers = m.eventHandlers.map((h): EventHandlerSpec => {
      const hw = `${where}, handler ${h.handler}`;
      if (h.receipt) throw new ManifestError(`${hw}: \`receipt: true\` is not supported by the embedded host`);
      if (h.calls && Object.keys(h.calls).length > 0) throw new ManifestError(`${hw}: declared calls need ethereum.call, which the embedded host does not implement`);
      const wanted = canonical(h.event);
      const exact = h.event.replace(/\s+/g, "");
      const abiEvent = events.find((e) => manifestSignature(e).replace(/\s+/g, "") === exact);
      if (!abiEvent) {
        // Same types with other `indexed` markers would decode wrongly: say so rather than misread logs.
        const near = events.find((e) => canonical(manifestSignature(e)) === wanted);
        if (near) throw new ManifestError(`${hw}: event ${h.event} does not match the ABI's ${manifestSignature(near)} (indexed parameters differ)`);
        throw new ManifestError(`${hw}: event ${h.event} is not in ABI ${spec.source.abi}`);
      }
      if (!module.hasHandler(h.handler)) throw new ManifestError(`${hw}: the mapping ${m.file} does not export ${h.handler}`);
      const topicFilters = [h.topic1, h.topic2, h.topic3].map((values) => (values ? new Set(values.map((v) => v.toLowerCase())) : null));
      return { event: h.event, handler: h.handler, topic0: keccak256(stringToBytes(wanted)), abiEvent, topicFilters };
    });
    return { abiName: spec.source.abi, apiVersion: m.apiVersion, file: wasmFile, mapping: module, handlers };
  }

  const dataSources: DataSourceSpec[] = [];
  for (const [i, rawSource] of top.data.dataSources.entries()) {
    const parsed = dataSource.safeParse(rawSource);
    if (!parsed.success) throw new ManifestError(`${file}: dataSources[${i}] (${rawSource.name ?? "unnamed"}): ${formatIssues(parsed.error)}`);
    const ds = parsed.data;
    const where = `data source ${ds.name}`;
    const address = ds.source.address;
    if (!address || !isAddress(address, { strict: false })) throw new ManifestError(`${where}: source.address ${address ?? "(none)"} is not an address`);
    const context = ds.context
      ? new Map(Object.entries(ds.context).map(([k, v]) => [k, contextValue(v, where)]))
      : null;
    dataSources.push({
      name: ds.name,
      network: ds.network,
      address: address.toLowerCase() as Hex,
      startBlock: ds.source.startBlock,
      endBlock: ds.source.endBlock ?? null,
      context,
      ...(await loadMapping("data source", ds)),
    });
  }

  const templates: TemplateSpec[] = [];
  for (const [i, rawTemplate] of top.data.templates.entries()) {
    const parsed = template.safeParse(rawTemplate);
    if (!parsed.success) throw new ManifestError(`${file}: templates[${i}] (${rawTemplate.name ?? "unnamed"}): ${formatIssues(parsed.error)}`);
    const t = parsed.data;
    templates.push({ name: t.name, network: t.network, ...(await loadMapping("template", t)) });
  }

  const names = [...dataSources, ...templates].map((d) => d.name);
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate) throw new ManifestError(`${file}: two data sources or templates are named ${duplicate}`);
  const networks = new Set([...dataSources, ...templates].map((d) => d.network));
  if (networks.size !== 1) throw new ManifestError(`${file}: data sources are on several networks (${[...networks].join(", ")}); the host indexes one chain`);

  return { dir, specVersion: top.data.specVersion, network: [...networks][0]!, schema, dataSources, templates };
}

// What a host function can see while a handler runs: the instance's memory, the block's store writer, the data
// source that matched the trigger, and where to put the data sources the handler creates.
import type { BlockWriter, Entity } from "../store/types.ts";
import type { Marshal } from "./marshal.ts";
import type { SubgraphSchema } from "../schema.ts";
import type { ApiVersion } from "./event.ts";

type LogFn = (fields: Record<string, unknown>, message: string) => void;

/** The subset of pino's logger the host uses; pino loggers fit as they are. */
export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** A data source a handler created from a template (`Template.create(address)`). */
export interface CreatedDataSource {
  template: string;
  /** 0x-prefixed lowercase. */
  address: string;
  context: Entity;
}

export interface DataSourceInfo {
  /** The data source's name, or the template's for a template instance. */
  name: string;
  /** 20 bytes. */
  address: Uint8Array;
  network: string;
  context: Entity | null;
  /** Names of the templates `dataSource.create` may instantiate. */
  templates: readonly string[];
}

export interface TriggerContext {
  marshal: Marshal;
  writer: BlockWriter;
  schema: SubgraphSchema;
  dataSource: DataSourceInfo;
  handler: string;
  blockNumber: number;
  apiVersion: ApiVersion;
  created: CreatedDataSource[];
  logger: Logger;
}

export { createIndexer, type Indexer, type IndexerOptions } from "./indexer.ts";
export type { IndexerStatus } from "./progress.ts";
export { RpcError, type RpcOptions, type RpcSource } from "./rpc.ts";

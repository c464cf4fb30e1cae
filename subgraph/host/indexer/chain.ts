// The chain as the indexer reads it: the head, block headers, full blocks (only those with triggers) and logs in
// bounded ranges that shrink when the node says a range is too large.
import type { BlockPtr } from "../store/types.ts";
import { prepareBlock, prepareTransaction, type PreparedFields } from "../runtime/event.ts";
import { RpcClient, isRangeTooLarge } from "./rpc.ts";

export interface RpcLog {
  address: string;
  topics: string[];
  data: string;
  blockNumber: string;
  blockHash: string;
  transactionHash: string;
  transactionIndex: string;
  logIndex: string;
  removed?: boolean;
}

interface RpcTransaction {
  hash: string;
  transactionIndex: string;
  from: string;
  to: string | null;
  value: string;
  gas: string;
  gasPrice?: string;
  maxFeePerGas?: string;
  maxPriorityFeePerGas?: string;
  input: string;
  nonce: string;
}

interface RpcBlock {
  number: string;
  hash: string;
  parentHash: string;
  sha3Uncles: string;
  miner: string;
  stateRoot: string;
  transactionsRoot: string;
  receiptsRoot: string;
  gasUsed: string;
  gasLimit: string;
  timestamp: string;
  difficulty?: string;
  totalDifficulty?: string;
  size?: string;
  baseFeePerGas?: string;
  transactions: (RpcTransaction | string)[];
}

/** A block with triggers: its pointer, its fields ready for ethereum.Block, and its transactions by hash. */
export interface ChainBlock {
  ptr: BlockPtr;
  fields: PreparedFields;
  transaction(hash: string): PreparedFields;
}

const bytes = (hex: string | null | undefined) => Buffer.from((hex ?? "0x").slice(2), "hex");
const int = (hex: string | null | undefined) => (hex ? BigInt(hex) : 0n);

export function blockPtr(block: { number: string; hash: string; parentHash: string; timestamp: string }): BlockPtr {
  return {
    number: Number(block.number),
    hash: block.hash.toLowerCase(),
    parentHash: block.parentHash.toLowerCase(),
    timestamp: Number(block.timestamp),
  };
}

function chainBlock(block: RpcBlock): ChainBlock {
  const baseFee = block.baseFeePerGas === undefined ? null : BigInt(block.baseFeePerGas);
  const fields = prepareBlock({
    hash: bytes(block.hash),
    parentHash: bytes(block.parentHash),
    unclesHash: bytes(block.sha3Uncles),
    author: bytes(block.miner),
    stateRoot: bytes(block.stateRoot),
    transactionsRoot: bytes(block.transactionsRoot),
    receiptsRoot: bytes(block.receiptsRoot),
    number: BigInt(block.number),
    gasUsed: int(block.gasUsed),
    gasLimit: int(block.gasLimit),
    timestamp: int(block.timestamp),
    difficulty: int(block.difficulty),
    totalDifficulty: int(block.totalDifficulty),
    size: block.size === undefined ? null : BigInt(block.size),
    baseFeePerGas: baseFee,
  });
  const transactions = new Map<string, RpcTransaction>();
  for (const tx of block.transactions) if (typeof tx === "object") transactions.set(tx.hash.toLowerCase(), tx);
  const prepared = new Map<string, PreparedFields>();
  return {
    ptr: blockPtr(block),
    fields,
    transaction(hash: string): PreparedFields {
      const key = hash.toLowerCase();
      let fields = prepared.get(key);
      if (fields) return fields;
      const tx = transactions.get(key);
      if (!tx) throw new Error(`transaction ${hash} is not in block ${Number(block.number)} (${block.hash})`);
      // Mined EIP-1559 transactions report their effective price as gasPrice; compute it where a node does not.
      const gasPrice =
        tx.gasPrice !== undefined
          ? BigInt(tx.gasPrice)
          : (() => {
              const max = int(tx.maxFeePerGas);
              const tip = int(tx.maxPriorityFeePerGas);
              const capped = (baseFee ?? 0n) + tip;
              return capped < max ? capped : max;
            })();
      fields = prepareTransaction({
        hash: bytes(tx.hash),
        index: BigInt(tx.transactionIndex),
        from: bytes(tx.from),
        to: tx.to ? bytes(tx.to) : null,
        value: int(tx.value),
        gasLimit: int(tx.gas),
        gasPrice,
        input: bytes(tx.input),
        nonce: int(tx.nonce),
      });
      prepared.set(key, fields);
      return fields;
    },
  };
}

export interface LogQuery {
  fromBlock: number;
  toBlock: number;
  addresses: readonly string[];
  topics: readonly string[];
}

const hexNumber = (n: number) => `0x${n.toString(16)}`;
/** Providers limit the addresses of one eth_getLogs call; stay well under the usual limits. */
const ADDRESSES_PER_QUERY = 500;

export class Chain {
  readonly rpc: RpcClient;
  /** Current largest eth_getLogs range; halved when a node refuses a range, grown back slowly on success. */
  private logRange: number;
  private readonly maxLogRange: number;

  constructor(rpc: RpcClient, maxLogRange: number) {
    this.rpc = rpc;
    this.maxLogRange = maxLogRange;
    this.logRange = maxLogRange;
  }

  async chainId(): Promise<number> {
    return Number(await this.rpc.request<string>("eth_chainId"));
  }

  async headNumber(): Promise<number> {
    return Number(await this.rpc.request<string>("eth_blockNumber"));
  }

  async header(number: number): Promise<BlockPtr | null> {
    const block = await this.rpc.request<RpcBlock | null>("eth_getBlockByNumber", [hexNumber(number), false]);
    return block ? blockPtr(block) : null;
  }

  async block(number: number): Promise<ChainBlock | null> {
    const block = await this.rpc.request<RpcBlock | null>("eth_getBlockByNumber", [hexNumber(number), true]);
    return block ? chainBlock(block) : null;
  }

  /** Every log of `addresses` with one of `topics` as topic0 in the range, in chain order. */
  async logs(query: LogQuery): Promise<RpcLog[]> {
    if (query.addresses.length === 0 || query.topics.length === 0 || query.fromBlock > query.toBlock) return [];
    const out: RpcLog[] = [];
    for (let i = 0; i < query.addresses.length; i += ADDRESSES_PER_QUERY) {
      const addresses = query.addresses.slice(i, i + ADDRESSES_PER_QUERY);
      let from = query.fromBlock;
      while (from <= query.toBlock) {
        const to = Math.min(query.toBlock, from + this.logRange - 1);
        let logs: RpcLog[];
        try {
          logs = await this.rpc.request<RpcLog[]>("eth_getLogs", [
            { fromBlock: hexNumber(from), toBlock: hexNumber(to), address: addresses, topics: [query.topics] },
          ]);
        } catch (error) {
          if (!isRangeTooLarge(error) || to === from) throw error;
          this.logRange = Math.max(1, Math.floor((to - from + 1) / 2));
          continue;
        }
        for (const log of logs) if (!log.removed) out.push(log);
        from = to + 1;
        if (this.logRange < this.maxLogRange) this.logRange = Math.min(this.maxLogRange, this.logRange + Math.ceil(this.logRange / 4));
      }
    }
    if (query.addresses.length > ADDRESSES_PER_QUERY) out.sort(compareLogs);
    return out;
  }
}

export function compareLogs(a: RpcLog, b: RpcLog): number {
  return Number(a.blockNumber) - Number(b.blockNumber) || Number(a.logIndex) - Number(b.logIndex);
}

// The trigger object of an event handler, ethereum.Event, written into an instance's memory with its Block,
// Transaction and parameters, in the layout graph-node uses for the module's apiVersion. Block and transaction
// fields are encoded to bytes once per block (see `prepareBlock`), since every event of the block repeats them.
import { bigintToSignedLE } from "./bigint.ts";
import type { EthereumValue } from "./ethereum-value.ts";
import type { Marshal } from "./marshal.ts";
import { TypeId } from "./type-ids.ts";

export interface BlockData {
  hash: Uint8Array;
  parentHash: Uint8Array;
  unclesHash: Uint8Array;
  author: Uint8Array;
  stateRoot: Uint8Array;
  transactionsRoot: Uint8Array;
  receiptsRoot: Uint8Array;
  number: bigint;
  gasUsed: bigint;
  gasLimit: bigint;
  timestamp: bigint;
  difficulty: bigint;
  totalDifficulty: bigint;
  size: bigint | null;
  baseFeePerGas: bigint | null;
}

export interface TransactionData {
  hash: Uint8Array;
  index: bigint;
  from: Uint8Array;
  /** Null for a contract creation. */
  to: Uint8Array | null;
  value: bigint;
  gasLimit: bigint;
  /** The effective gas price. */
  gasPrice: bigint;
  input: Uint8Array;
  nonce: bigint;
}

export interface EventParam {
  name: string;
  value: EthereumValue;
}

/** Field bytes in declaration order (BigInts already as signed little-endian), null where the field is null. */
export type PreparedFields = (Uint8Array | null)[];

export function prepareBlock(block: BlockData): PreparedFields {
  const int = bigintToSignedLE;
  return [
    block.hash,
    block.parentHash,
    block.unclesHash,
    block.author,
    block.stateRoot,
    block.transactionsRoot,
    block.receiptsRoot,
    int(block.number),
    int(block.gasUsed),
    int(block.gasLimit),
    int(block.timestamp),
    int(block.difficulty),
    int(block.totalDifficulty),
    block.size === null ? null : int(block.size),
    block.baseFeePerGas === null ? null : int(block.baseFeePerGas),
  ];
}

export function prepareTransaction(tx: TransactionData): PreparedFields {
  const int = bigintToSignedLE;
  return [tx.hash, int(tx.index), tx.from, tx.to, int(tx.value), int(tx.gasLimit), int(tx.gasPrice), tx.input, int(tx.nonce)];
}

export interface EventTrigger {
  address: Uint8Array;
  logIndex: bigint;
  /** graph-node passes the log's index here too. */
  transactionLogIndex: bigint;
  block: PreparedFields;
  transaction: PreparedFields;
  params: EventParam[];
}

/** apiVersion as [major, minor, patch]. */
export type ApiVersion = readonly [number, number, number];

function atLeast(version: ApiVersion, patch: number): boolean {
  return version[0] > 0 || version[1] > 0 || version[2] >= patch;
}

/** Writes a class whose fields are all pointers, from prepared bytes (each a Uint8Array object) or null. */
function writeFields(marshal: Marshal, type: typeof TypeId.EthereumBlock | typeof TypeId.EthereumTransaction, fields: PreparedFields): number {
  const pointers = fields.map((bytes) => (bytes === null ? 0 : marshal.writeBytes(bytes)));
  const ptr = marshal.heap.alloc(type, pointers.length * 4);
  for (let i = 0; i < pointers.length; i++) marshal.heap.setU32(ptr + i * 4, pointers[i]!);
  return ptr;
}

/**
 * Writes ethereum.Event (apiVersion ≥ 0.0.7: 32 bytes, receipt null), with ethereum.Block (0.0.6+: 15 fields,
 * baseFeePerGas last) and ethereum.Transaction (0.0.6+: 9 fields, nonce last). Older versions drop those fields.
 */
export function writeEvent(marshal: Marshal, event: EventTrigger, version: ApiVersion): number {
  const modern = atLeast(version, 6);
  const address = marshal.writeBytes(event.address);
  const logIndex = marshal.writeBigInt(event.logIndex);
  const transactionLogIndex = marshal.writeBigInt(event.transactionLogIndex);
  const block = writeFields(marshal, TypeId.EthereumBlock, modern ? event.block : event.block.slice(0, 14));
  const transaction = writeFields(marshal, TypeId.EthereumTransaction, modern ? event.transaction : event.transaction.slice(0, 8));
  const params = marshal.writeArray(
    TypeId.ArrayEventParam,
    event.params.map((param) => {
      const name = marshal.writeString(param.name);
      const value = marshal.writeEthereumValue(param.value);
      const ptr = marshal.heap.alloc(TypeId.EventParam, 8);
      marshal.heap.setU32(ptr, name);
      marshal.heap.setU32(ptr + 4, value);
      return ptr;
    }),
  );
  const withReceipt = atLeast(version, 7);
  const ptr = marshal.heap.alloc(TypeId.EthereumEvent, withReceipt ? 32 : 28);
  const heap = marshal.heap;
  heap.setU32(ptr, address);
  heap.setU32(ptr + 4, logIndex);
  heap.setU32(ptr + 8, transactionLogIndex);
  heap.setU32(ptr + 12, 0); // logType: null
  heap.setU32(ptr + 16, block);
  heap.setU32(ptr + 20, transaction);
  heap.setU32(ptr + 24, params);
  if (withReceipt) heap.setU32(ptr + 28, 0); // receipt: only for handlers declaring `receipt: true`
  return ptr;
}

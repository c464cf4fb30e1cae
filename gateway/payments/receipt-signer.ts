// Signs the receipt of every paid answer with the operator's key: a receipt-specific EIP-712 digest (eip712.ts) and
// libsecp256k1's signer, so signing costs tens of microseconds, not the milliseconds of a generic signer.
import { createRequire } from "node:module";
import { secp256k1 as noble } from "@noble/curves/secp256k1.js";
import { hexToBytes, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { RECEIPT_DOMAIN_NAME, RECEIPT_DOMAIN_VERSION, receiptToJson, type Receipt, type SignedReceiptJson } from "../../sdk/receipts.ts";
import { createDigester, typeHash, writeAddress, writeBytes32, writeUint } from "./eip712.ts";

const RECEIPT_TYPEHASH = typeHash(
  "Receipt(uint256 modelId,uint32 version,bytes32 weightsSha256,bytes32 inputSha256,bytes32 outputSha256,address payer,bytes32 payment,uint256 cumulativeAmount,uint64 callIndex)",
);

type Sign = (digest: Uint8Array, key: Uint8Array) => { signature: Uint8Array; recid: number };

function loadSigner(): Sign {
  try {
    const native = createRequire(import.meta.url)("secp256k1/bindings") as { ecdsaSign(msg: Uint8Array, key: Uint8Array): { signature: Uint8Array; recid: number } };
    return (digest, key) => native.ecdsaSign(digest, key);
  } catch {
    return (digest, key) => {
      const sig = noble.sign(digest, key, { prehash: false });
      return { signature: sig.toBytes("compact"), recid: sig.recovery };
    };
  }
}

const sign = loadSigner();

export function receiptDigester(chainId: number, vault: Address) {
  const digest = createDigester({ name: RECEIPT_DOMAIN_NAME, version: RECEIPT_DOMAIN_VERSION, chainId, verifyingContract: vault });
  return (r: Receipt): Uint8Array => {
    const struct = new Uint8Array(320);
    struct.set(RECEIPT_TYPEHASH, 0);
    writeUint(struct, 32, r.modelId);
    writeUint(struct, 64, BigInt(r.version), 32);
    writeBytes32(struct, 96, r.weightsSha256);
    writeBytes32(struct, 128, r.inputSha256);
    writeBytes32(struct, 160, r.outputSha256);
    writeAddress(struct, 192, r.payer);
    writeBytes32(struct, 224, r.payment);
    writeUint(struct, 256, r.cumulativeAmount);
    writeUint(struct, 288, r.callIndex, 64);
    return digest(struct);
  };
}

/** Signs receipts as `operatorKey`'s address, for one vault on one chain. */
export function createReceiptSigner(operatorKey: Hex, chainId: number, vault: Address) {
  const key = hexToBytes(operatorKey);
  const operator = privateKeyToAccount(operatorKey).address;
  const digest = receiptDigester(chainId, vault);
  return {
    operator,
    sign(receipt: Receipt): SignedReceiptJson {
      const { signature, recid } = sign(digest(receipt), key);
      const bytes = new Uint8Array(65);
      bytes.set(signature, 0);
      bytes[64] = 27 + recid;
      return receiptToJson(receipt, operator, `0x${Buffer.from(bytes).toString("hex")}`);
    },
  };
}

export type ReceiptSigner = ReturnType<typeof createReceiptSigner>;

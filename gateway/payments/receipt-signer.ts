// Signs the receipt of every paid answer with the operator's key: a receipt-specific EIP-712 digest (eip712.ts) and
// libsecp256k1's signer (on the secp256k1 pool), so signing costs tens of microseconds, not the milliseconds of a
// generic signer.
import type { Address } from "viem";
import { RECEIPT_DOMAIN_NAME, RECEIPT_DOMAIN_VERSION, receiptToJson, type Receipt, type SignedReceiptJson } from "../../sdk/receipts.ts";
import { createDigester, typeHash, writeAddress, writeBytes32, writeUint } from "./eip712.ts";
import type { SecpPool } from "./secp-pool.ts";

const RECEIPT_TYPEHASH = typeHash(
  "Receipt(uint256 modelId,uint32 version,bytes32 weightsSha256,bytes32 inputSha256,bytes32 outputSha256,address payer,bytes32 payment,uint256 cumulativeAmount,uint64 callIndex)",
);

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

/** Signs receipts as the pool's key (the operator's), for one vault on one chain. */
export function createReceiptSigner(operator: Address, pool: SecpPool, chainId: number, vault: Address) {
  const digest = receiptDigester(chainId, vault);
  return {
    operator,
    async sign(receipt: Receipt): Promise<SignedReceiptJson> {
      return receiptToJson(receipt, operator, await pool.sign(digest(receipt)));
    },
  };
}

export type ReceiptSigner = ReturnType<typeof createReceiptSigner>;

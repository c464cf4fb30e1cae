// x402 `exact`, gateway side: any x402 client pays a call with an EIP-3009 `transferWithAuthorization` of the price to
// the model's payment address (its share token), so the money can only be credited to that model. The gateway checks
// the authorization in memory (fields, window, EIP-712 signature with libsecp256k1), runs the call, then submits the
// authorization through the vault (`payExact`, batched with concurrent ones) and answers once it is mined — as the
// x402 `exact` flow settles before it answers. A payment that fails on-chain withholds the answer.
import { isAddress, type Address, type Hex, type PublicClient } from "viem";
import { testStablecoinAbi } from "../../sdk/contracts.ts";
import type { Ledger } from "../ledger/types.ts";
import { ApiError, PaymentError } from "../http/errors.ts";
import { createDigester, typeHash, writeAddress, writeBytes32, writeUint, toHexDigest } from "./eip712.ts";
import type { Committed, PaymentHold } from "./hold.ts";
import type { PayerBook } from "./payers.ts";
import { recoverAddress } from "./secp256k1.ts";

export interface ExactPayment {
  modelId: bigint;
  from: Address;
  value: bigint;
  validAfter: bigint;
  validBefore: bigint;
  nonce: Hex;
  signature: Hex;
}

/** Submits payments on-chain (one transaction for several) and resolves per payment once mined. */
export type ExactSubmitter = (payment: ExactPayment) => Promise<{ transaction: Hex }>;

export interface ExactPaymentsOptions {
  chainId: number;
  network: string;
  stablecoin: { address: Address; name: string; version: string };
  /** An authorization must stay valid at least this long after it arrives, so it can still be mined (seconds). */
  minValiditySeconds: number;
  client: PublicClient;
  payers: PayerBook;
  ledger: Ledger;
  submit: ExactSubmitter;
  now?: () => number;
}

export interface ExactCall {
  modelId: bigint;
  price: bigint;
  payTo: Address;
}

const TRANSFER_TYPEHASH = typeHash(
  "TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)",
);
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const UINT = /^(0|[1-9]\d{0,77})$/;
const BYTES32 = /^0x[0-9a-fA-F]{64}$/;
const SIGNATURE = /^0x[0-9a-fA-F]{130}$/;

function invalid(message: string): PaymentError {
  return new PaymentError("invalid_authorization", message);
}

/** Reads `{ signature, authorization: { from, to, value, validAfter, validBefore, nonce } }` strictly. */
export function parseExactPayload(payload: Record<string, unknown>) {
  const a = payload.authorization;
  if (typeof a !== "object" || a === null || Array.isArray(a)) throw invalid("the payload has no authorization object");
  const f = a as Record<string, unknown>;
  const text = (key: string, pattern: RegExp, what: string): string => {
    const value = f[key];
    if (typeof value !== "string" || !pattern.test(value)) throw invalid(`authorization.${key} must be ${what}`);
    return value;
  };
  // Mixed case is an EIP-55 checksum and must be right: a typo in an address is refused, never read on chain.
  const address = (key: string): Address => {
    const value = text(key, ADDRESS, "an address");
    if (!isAddress(value, { strict: true })) throw invalid(`authorization.${key} has a wrong EIP-55 checksum (send it checksummed or all lowercase)`);
    return value;
  };
  const signature = payload.signature;
  if (typeof signature !== "string" || !SIGNATURE.test(signature)) throw invalid("signature must be 65 bytes of 0x-prefixed hex");
  return {
    from: address("from"),
    to: address("to"),
    value: BigInt(text("value", UINT, "a decimal integer string")),
    validAfter: BigInt(text("validAfter", UINT, "a decimal integer string")),
    validBefore: BigInt(text("validBefore", UINT, "a decimal integer string")),
    nonce: text("nonce", BYTES32, "32 bytes of 0x-prefixed hex") as Hex,
    signature: signature as Hex,
  };
}

export class ExactPayments {
  readonly #o: ExactPaymentsOptions;
  readonly #digest: (struct: Uint8Array) => Uint8Array;
  readonly #now: () => number;
  /** Nonces of authorizations being served right now (the ledger makes them unique for good at commit). */
  readonly #inFlight = new Set<string>();

  constructor(options: ExactPaymentsOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#digest = createDigester({
      name: options.stablecoin.name,
      version: options.stablecoin.version,
      chainId: options.chainId,
      verifyingContract: options.stablecoin.address,
    });
  }

  async check(payload: Record<string, unknown>, call: ExactCall): Promise<PaymentHold> {
    const o = this.#o;
    const auth = parseExactPayload(payload);
    if (auth.to.toLowerCase() !== call.payTo.toLowerCase()) {
      throw new PaymentError("wrong_recipient", `the authorization pays ${auth.to}, but model ${call.modelId} is paid at ${call.payTo}`);
    }
    if (auth.value < call.price) throw new PaymentError("insufficient_amount", `the authorization pays ${auth.value}, below the price of ${call.price}`);
    const now = BigInt(Math.floor(this.#now() / 1000));
    if (auth.validAfter > now) throw new PaymentError("authorization_not_yet_valid", `the authorization is valid only after ${auth.validAfter} (now ${now})`);
    if (auth.validBefore < now + BigInt(o.minValiditySeconds)) {
      throw new PaymentError("authorization_expires_too_soon", `the authorization expires at ${auth.validBefore}; it must stay valid for ${o.minValiditySeconds} s to be settled`);
    }

    const struct = new Uint8Array(224);
    struct.set(TRANSFER_TYPEHASH, 0);
    writeAddress(struct, 32, auth.from);
    writeAddress(struct, 64, auth.to);
    writeUint(struct, 96, auth.value);
    writeUint(struct, 128, auth.validAfter);
    writeUint(struct, 160, auth.validBefore);
    writeBytes32(struct, 192, auth.nonce);
    const digest = this.#digest(struct);
    const signer = recoverAddress(digest, Buffer.from(auth.signature.slice(2), "hex"));
    if (signer?.toLowerCase() !== auth.from.toLowerCase()) {
      const valid = await o.payers.isValidContractSignature(auth.from, toHexDigest(digest), auth.signature).catch(() => false);
      if (!valid) throw new PaymentError("bad_signature", `the authorization is not signed by its payer ${auth.from}`);
    }

    const key = auth.nonce.toLowerCase();
    if (this.#inFlight.has(key)) throw new PaymentError("authorization_used", "this authorization is already paying for another call");
    let balance: bigint;
    try {
      balance = await o.client.readContract({ address: o.stablecoin.address, abi: testStablecoinAbi, functionName: "balanceOf", args: [auth.from] });
    } catch {
      throw new ApiError(503, "chain_unavailable", "cannot check the payer's balance: the chain's RPC is unreachable");
    }
    if (balance < auth.value) throw new PaymentError("insufficient_balance", `${auth.from} holds ${balance}, less than the ${auth.value} it authorized`);
    if (this.#inFlight.has(key)) throw new PaymentError("authorization_used", "this authorization is already paying for another call");
    this.#inFlight.add(key);
    const { to, ...signed } = auth;
    return this.#hold({ ...signed, modelId: call.modelId }, to, key);
  }

  #hold(payment: ExactPayment, to: Address, key: string): PaymentHold {
    const o = this.#o;
    let open = true;
    const done = () => {
      open = false;
      this.#inFlight.delete(key);
    };
    return {
      scheme: "exact",
      payer: payment.from,
      amount: payment.value,
      replay: false,
      receipt: { payment: payment.nonce, cumulativeAmount: payment.value, callIndex: 1n },
      commit: async (): Promise<Committed> => {
        try {
          let fresh: boolean;
          try {
            fresh = await o.ledger.recordExact({ nonce: payment.nonce, from: payment.from, to, value: payment.value, modelId: payment.modelId, acceptedAt: this.#now() });
          } catch {
            throw new ApiError(503, "ledger_unavailable", "the payment could not be recorded, so the answer is withheld and nothing is charged");
          }
          if (!fresh) throw new PaymentError("authorization_used", "this authorization has already paid for a call");
          let transaction: Hex;
          try {
            ({ transaction } = await o.submit(payment));
          } catch (error) {
            throw new PaymentError("payment_failed", `the payment could not be settled on-chain, so the answer is withheld: ${(error as Error).message}`);
          }
          const value = payment.value.toString();
          return {
            response: { success: true, transaction, network: o.network as `${string}:${string}`, payer: payment.from, amount: value },
            summary: { scheme: "exact", payer: payment.from, amount: value, transaction },
          };
        } finally {
          done();
        }
      },
      release: () => {
        if (open) done();
        return { charged: false };
      },
    };
  }
}

// The payment options a 402 offers for one model: x402 `exact` (an EIP-3009 transfer of the price to the model's
// own payment address, payable by any x402 client) and the voucher scheme (a signed voucher on one of the payer's
// lanes with this operator). Built as x402 version 2 PaymentRequired (the PAYMENT-REQUIRED header) and, on chains
// version 1 knows, as a version 1 body for older clients.
import type { PaymentRequired, PaymentRequirements } from "@x402/core/types";
import type { Address } from "viem";
import { VOUCHER_DOMAIN_NAME, VOUCHER_DOMAIN_VERSION } from "../../sdk/vouchers.ts";
import { caip2, V1_NETWORKS } from "../../sdk/x402/networks.ts";
import { VOUCHER_SCHEME, type LaneState, type VoucherRequirementsExtra } from "../../sdk/x402/voucher-scheme.ts";

export interface PaymentTerms {
  chainId: number;
  vault: Address;
  operator: Address;
  stablecoin: { address: Address; name: string; version: string };
  maxLanes: number;
  /** How long a client has to pay once asked; also the EIP-3009 window clients sign for. */
  maxTimeoutSeconds: number;
  exact: boolean;
}

export interface PricedModel {
  modelId: bigint;
  price: bigint;
  /** The model's payment address (its share token): the only `to` an `exact` payment may name. */
  payTo: Address;
}

export function acceptsFor(terms: PaymentTerms, model: PricedModel, resync?: { payer: Address; tabs: LaneState[] }): PaymentRequirements[] {
  const network = caip2(terms.chainId);
  const accepts: PaymentRequirements[] = [];
  if (terms.exact) {
    accepts.push({
      scheme: "exact",
      network,
      asset: terms.stablecoin.address,
      amount: model.price.toString(),
      payTo: model.payTo,
      maxTimeoutSeconds: terms.maxTimeoutSeconds,
      extra: { name: terms.stablecoin.name, version: terms.stablecoin.version },
    });
  }
  const extra: VoucherRequirementsExtra = {
    name: VOUCHER_DOMAIN_NAME,
    version: VOUCHER_DOMAIN_VERSION,
    operator: terms.operator,
    modelId: model.modelId.toString(),
    maxLanes: terms.maxLanes,
    ...(resync ? { payer: resync.payer, tabs: resync.tabs } : {}),
  };
  accepts.push({
    scheme: VOUCHER_SCHEME,
    network,
    asset: terms.stablecoin.address,
    amount: model.price.toString(),
    payTo: terms.vault,
    maxTimeoutSeconds: terms.maxTimeoutSeconds,
    extra: extra as unknown as Record<string, unknown>,
  });
  return accepts;
}

export function paymentRequired(resourceUrl: string, accepts: PaymentRequirements[], error: string, description: string): PaymentRequired {
  return { x402Version: 2, error, resource: { url: resourceUrl, description, mimeType: "application/json" }, accepts };
}

/** Version 1's body for the same 402, or undefined on a chain version 1 has no name for. */
export function v1Accepts(terms: PaymentTerms, model: PricedModel, resourceUrl: string, description: string) {
  const network = V1_NETWORKS[terms.chainId];
  if (!network || !terms.exact) return undefined;
  return [
    {
      scheme: "exact",
      network,
      maxAmountRequired: model.price.toString(),
      resource: resourceUrl,
      description,
      mimeType: "application/json",
      payTo: model.payTo,
      maxTimeoutSeconds: terms.maxTimeoutSeconds,
      asset: terms.stablecoin.address,
      extra: { name: terms.stablecoin.name, version: terms.stablecoin.version },
    },
  ];
}

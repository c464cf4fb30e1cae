// x402 names networks as CAIP-2 ids (`eip155:<chainId>`) since version 2; version 1 used names of its own and only
// knows a fixed list of chains, so a gateway offers version-1 payments only on those.

export type Caip2 = `eip155:${number}`;

export function caip2(chainId: number): Caip2 {
  return `eip155:${chainId}`;
}

/** The chain id of an `eip155:<id>` network, or undefined for anything else. */
export function chainIdOf(network: string): number | undefined {
  const match = /^eip155:([1-9]\d{0,15})$/.exec(network);
  return match ? Number(match[1]) : undefined;
}

/** x402 version 1's names of the EVM chains it supports (the `x402` package's list). */
export const V1_NETWORKS: Readonly<Record<number, string>> = {
  2741: "abstract",
  11124: "abstract-testnet",
  84532: "base-sepolia",
  8453: "base",
  43113: "avalanche-fuji",
  43114: "avalanche",
  4689: "iotex",
  1329: "sei",
  1328: "sei-testnet",
  137: "polygon",
  80002: "polygon-amoy",
  3338: "peaq",
  1514: "story",
  41923: "educhain",
  324705682: "skale-base-sepolia",
};

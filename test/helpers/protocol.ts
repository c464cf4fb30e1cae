// Deploys the whole protocol on a Hardhat network connection and offers the few helpers every contract test needs:
// minting a model, funding a payer, signing vouchers and EIP-3009 authorizations.
import { getContractAddress, encodeFunctionData, keccak256, toHex, type Address, type Hex } from "viem";
import type { NetworkConnection } from "hardhat/types/network";

export type Viem = NetworkConnection["viem"];
export type Protocol = Awaited<ReturnType<typeof deployProtocol>>;

export const VOUCHER_TYPES = {
  Voucher: [
    { name: "payer", type: "address" },
    { name: "operator", type: "address" },
    { name: "modelId", type: "uint256" },
    { name: "cumulativeAmount", type: "uint256" },
    { name: "cumulativeCalls", type: "uint64" },
    { name: "expiry", type: "uint64" },
  ],
} as const;

export const TRANSFER_WITH_AUTHORIZATION_TYPES = {
  TransferWithAuthorization: [
    { name: "from", type: "address" },
    { name: "to", type: "address" },
    { name: "value", type: "uint256" },
    { name: "validAfter", type: "uint256" },
    { name: "validBefore", type: "uint256" },
    { name: "nonce", type: "bytes32" },
  ],
} as const;

export interface Voucher {
  payer: Address;
  operator: Address;
  modelId: bigint;
  cumulativeAmount: bigint;
  cumulativeCalls: bigint;
  expiry: bigint;
}

export interface DeployOptions {
  protocolFeeBps?: number;
  withdrawalDelay?: bigint;
}

/** Deploys stablecoin, registry and vault proxies and the share implementation, wired to each other. */
export async function deployProtocol(viem: Viem, options: DeployOptions = {}) {
  const publicClient = await viem.getPublicClient();
  const [deployer, treasury, ...others] = await viem.getWalletClients();
  const owner = deployer!.account.address;

  const usdc = await viem.deployContract("TestStablecoin", ["USD Coin", "USDC"]);
  const registryImpl = await viem.deployContract("ModelRegistry");
  const vaultImpl = await viem.deployContract("Vault");

  // The share implementation needs the two proxy addresses as immutables, and the proxies are initialised with
  // it: derive the proxies' addresses from the deployer's next nonces to deploy everything once, in order.
  const nonce = await publicClient.getTransactionCount({ address: owner });
  const registryAddress = getContractAddress({ from: owner, nonce: BigInt(nonce + 1) });
  const vaultAddress = getContractAddress({ from: owner, nonce: BigInt(nonce + 2) });
  const sharesImpl = await viem.deployContract("ModelShares", [registryAddress, vaultAddress, usdc.address]);

  await viem.deployContract("ERC1967Proxy", [
    registryImpl.address,
    encodeFunctionData({ abi: registryImpl.abi, functionName: "initialize", args: [owner, sharesImpl.address] }),
  ]);
  await viem.deployContract("ERC1967Proxy", [
    vaultImpl.address,
    encodeFunctionData({
      abi: vaultImpl.abi,
      functionName: "initialize",
      args: [
        owner,
        usdc.address,
        registryAddress,
        treasury!.account.address,
        options.protocolFeeBps ?? 100,
        options.withdrawalDelay ?? 3600n,
      ],
    }),
  ]);
  const registry = await viem.getContractAt("ModelRegistry", registryAddress);
  const vault = await viem.getContractAt("Vault", vaultAddress);
  return { publicClient, deployer: deployer!, treasury: treasury!, others, usdc, registry, vault, sharesImpl };
}

/** A well-formed binary CIDv1 (raw codec, sha2-256) for `label`; tests don't need real content behind it. */
export function fakeCid(label: string, codec = 0x55): Hex {
  const digest = keccak256(toHex(label)).slice(2);
  return `0x01${codec.toString(16).padStart(2, "0")}1220${digest}` as Hex;
}

export interface MintOptions {
  price?: bigint;
  operatorFeeBps?: number;
  parents?: { id: bigint; bps: number }[];
  holders?: { address: Address; amount: bigint }[];
  label?: string;
}

/** Mints a model as `creator` (default: deployer) and returns its id and share token. */
export async function mintModel(p: Protocol, viem: Viem, options: MintOptions = {}, creator = p.deployer) {
  const label = options.label ?? `model-${Math.random()}`;
  const holders = options.holders ?? [{ address: creator.account.address, amount: 1_000_000n * 10n ** 18n }];
  const params = {
    weightsSha256: keccak256(toHex(`${label}-weights`)),
    weightsCid: fakeCid(`${label}-weights-cid`),
    metadataCid: fakeCid(`${label}-card`, 0x71),
    pricePerCall: options.price ?? 2_000n,
    operatorFeeBps: options.operatorFeeBps ?? 500,
    parentIds: (options.parents ?? []).map((x) => x.id),
    parentBps: (options.parents ?? []).map((x) => x.bps),
    recipients: holders.map((h) => h.address),
    amounts: holders.map((h) => h.amount),
  };
  const modelId = await p.registry.read.nextModelId();
  const hash = await p.registry.write.mint([params], { account: creator.account });
  const receipt = await p.publicClient.waitForTransactionReceipt({ hash });
  const sharesAddress = await p.registry.read.sharesOf([modelId]);
  const shares = await viem.getContractAt("ModelShares", sharesAddress);
  return { modelId, shares, params, receipt };
}

type Wallet = Protocol["deployer"];

/** Mints stablecoin to `payer` and deposits `amount` into its escrow. */
export async function fund(p: Protocol, payer: Wallet, amount: bigint) {
  await p.usdc.write.mint([payer.account.address, amount]);
  await p.usdc.write.approve([p.vault.address, amount], { account: payer.account });
  await p.vault.write.deposit([amount], { account: payer.account });
}

export async function signVoucher(p: Protocol, signer: Wallet, voucher: Voucher, chainId?: number, verifyingContract?: Address) {
  return signer.signTypedData({
    account: signer.account,
    domain: {
      name: "Modelshare Vault",
      version: "1",
      chainId: chainId ?? (await p.publicClient.getChainId()),
      verifyingContract: verifyingContract ?? p.vault.address,
    },
    types: VOUCHER_TYPES,
    primaryType: "Voucher",
    message: voucher,
  });
}

export interface Authorization {
  from: Address;
  to: Address;
  value: bigint;
  validAfter: bigint;
  validBefore: bigint;
  nonce: Hex;
}

/** Signs an EIP-3009 TransferWithAuthorization, exactly as an x402 `exact` client does. */
export async function signAuthorization(p: Protocol, signer: Wallet, auth: Authorization) {
  return signer.signTypedData({
    account: signer.account,
    domain: {
      name: "USD Coin",
      version: "2",
      chainId: await p.publicClient.getChainId(),
      verifyingContract: p.usdc.address,
    },
    types: TRANSFER_WITH_AUTHORIZATION_TYPES,
    primaryType: "TransferWithAuthorization",
    message: auth,
  });
}

// Deploys the whole protocol on a Hardhat network connection and offers the few helpers every contract test needs:
// minting a model, funding a payer, signing vouchers and EIP-3009 authorizations.
import { keccak256, toHex, type Address, type Hex, type PublicClient } from "viem";
import { VOUCHER_TYPES, type Voucher } from "../../sdk/vouchers.ts";
import { TRANSFER_WITH_AUTHORIZATION_TYPES } from "../../sdk/typed-data.ts";
import { deployProtocol as deploy, type DeployOptions } from "../../deploy/protocol.ts";
import type { NetworkConnection } from "hardhat/types/network";

export type Viem = NetworkConnection["viem"];
export type Protocol = Awaited<ReturnType<typeof deployProtocol>>;

export { VOUCHER_TYPES, type Voucher } from "../../sdk/vouchers.ts";

export { TRANSFER_WITH_AUTHORIZATION_TYPES } from "../../sdk/typed-data.ts";

/** Deploys the protocol with the production deploy code (deploy/protocol.ts) on a Hardhat network connection. */
export async function deployProtocol(viem: Viem, options: DeployOptions = {}) {
  const publicClient = await viem.getPublicClient();
  const [deployer, treasury, ...others] = await viem.getWalletClients();
  const deployment = await deploy(
    { publicClient: publicClient as unknown as PublicClient, walletClient: deployer! },
    { treasury: treasury!.account.address, ...options },
  );
  const usdc = await viem.getContractAt("TestStablecoin", deployment.stablecoin.address);
  const registry = await viem.getContractAt("ModelRegistry", deployment.contracts.registry);
  const vault = await viem.getContractAt("Vault", deployment.contracts.vault);
  const sharesImpl = await viem.getContractAt("ModelShares", deployment.contracts.sharesImplementation);
  return { publicClient, deployment, deployer: deployer!, treasury: treasury!, others, usdc, registry, vault, sharesImpl };
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

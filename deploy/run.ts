// `npm run deploy [-- --force] [-- --json]`: deploys to MODELSHARE_RPC_URL (default: a local `hardhat node`).
// Environment: MODELSHARE_RPC_URL, MODELSHARE_DEPLOYER_KEY, MODELSHARE_STABLECOIN, MODELSHARE_TREASURY,
// MODELSHARE_PROTOCOL_FEE_BPS, MODELSHARE_WITHDRAWAL_DELAY (seconds).
import { parseArgs } from "node:util";
import { isAddress, isHex, type Address, type Hex } from "viem";
import { deployToChain } from "./deploy-to-chain.ts";

const { values } = parseArgs({ options: { force: { type: "boolean" }, json: { type: "boolean" } } });
const env = process.env;

function address(name: string): Address | undefined {
  const value = env[name];
  if (value === undefined || value === "") return undefined;
  if (!isAddress(value)) throw new Error(`${name} is not an address: ${value}`);
  return value;
}

try {
  const key = env.MODELSHARE_DEPLOYER_KEY;
  if (key && !(isHex(key) && key.length === 66)) throw new Error("MODELSHARE_DEPLOYER_KEY must be a 32-byte hex private key");
  const { deployment, file } = await deployToChain({
    rpcUrl: env.MODELSHARE_RPC_URL ?? "http://127.0.0.1:8545",
    privateKey: key as Hex | undefined,
    stablecoin: address("MODELSHARE_STABLECOIN"),
    treasury: address("MODELSHARE_TREASURY"),
    protocolFeeBps: env.MODELSHARE_PROTOCOL_FEE_BPS ? Number(env.MODELSHARE_PROTOCOL_FEE_BPS) : undefined,
    withdrawalDelay: env.MODELSHARE_WITHDRAWAL_DELAY ? BigInt(env.MODELSHARE_WITHDRAWAL_DELAY) : undefined,
    force: values.force,
    onStep: values.json ? undefined : (step) => console.error(step),
  });
  if (values.json) console.log(JSON.stringify(deployment, null, 2));
  else console.log(`deployed to chain ${deployment.chainId}: registry ${deployment.contracts.registry}, vault ${deployment.contracts.vault}\nwrote ${file}`);
} catch (error) {
  console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}

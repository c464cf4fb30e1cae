// Voucher verification on one core: viem's generic path (hashTypedData + recoverAddress) against the gateway's
// (cached-domain hasher + libsecp256k1), measured side by side on the same signed vouchers. Writes
// bench-results/verify.json.
import { mkdir, writeFile } from "node:fs/promises";
import { hashTypedData, hexToBytes, recoverAddress as viemRecover, type Address } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { createVoucherHasher } from "../gateway/payments/voucher-hash.ts";
import { recoverAddress, recoveryBackend } from "../gateway/payments/secp256k1.ts";
import { signVoucher, VOUCHER_TYPES, voucherDomain, type SignedVoucher } from "../sdk/vouchers.ts";

const chainId = 31337;
const vault = "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707" as Address;

async function perSecond(label: string, seconds: number, count: number, verify: (i: number) => boolean | Promise<boolean>) {
  let done = 0;
  const end = performance.now() + seconds * 1000;
  const start = performance.now();
  while (performance.now() < end) {
    for (let k = 0; k < 64; k++, done++) {
      if (!(await verify(done % count))) throw new Error(`${label}: verification failed`);
    }
  }
  return done / ((performance.now() - start) / 1000);
}

/** Vouchers per second on one core: the gateway's hasher + native recovery, and viem's generic path. */
export async function measureVerification(seconds = 2) {
  const operator = privateKeyToAccount(generatePrivateKey()).address;
  const samples: SignedVoucher[] = [];
  for (let i = 0; i < 256; i++) {
    const payer = privateKeyToAccount(generatePrivateKey());
    const voucher = { payer: payer.address, operator, modelId: 1n, lane: 0, cumulativeAmount: 2_000n * BigInt(i + 1), cumulativeCalls: BigInt(i + 1), expiry: 0n };
    samples.push(await signVoucher(payer, voucher, chainId, vault));
  }
  const signatures = samples.map((s) => hexToBytes(s.signature));
  const domain = voucherDomain(chainId, vault);
  const viem = await perSecond("viem", seconds, samples.length, async (i) => {
    const { voucher, signature } = samples[i]!;
    const digest = hashTypedData({ domain, types: VOUCHER_TYPES, primaryType: "Voucher", message: voucher });
    return (await viemRecover({ hash: digest, signature })) === voucher.payer;
  });
  const hash = createVoucherHasher(chainId, vault);
  const gateway = await perSecond("gateway", seconds, samples.length, (i) => {
    const { voucher } = samples[i]!;
    return recoverAddress(hash(voucher), signatures[i]!)?.toLowerCase() === voucher.payer.toLowerCase();
  });
  return { gateway, viem };
}

if (import.meta.main) {
  const { gateway: fastRate, viem: viemRate } = await measureVerification();
  const result = {
    verify_per_sec_one_core: Math.round(fastRate),
    viem_verify_per_sec: Math.round(viemRate),
    speedup: Number((fastRate / viemRate).toFixed(1)),
    backend: recoveryBackend,
  };
  console.log(`voucher verification, one core (${recoveryBackend})`);
  console.log(`  viem hashTypedData + recoverAddress  ${result.viem_verify_per_sec.toLocaleString("en-US").padStart(8)} /s`);
  console.log(`  gateway hasher + native recover     ${result.verify_per_sec_one_core.toLocaleString("en-US").padStart(8)} /s  (${result.speedup}x; target >= 10,000/s: ${fastRate >= 10_000 ? "PASS" : "MISS"})`);
  await mkdir("bench-results", { recursive: true });
  await writeFile("bench-results/verify.json", JSON.stringify(result, null, 2) + "\n");
}

// secp256k1 for the request path: signer recovery of vouchers and signing of receipts, through libsecp256k1 (the
// `secp256k1` native addon: ~24,000 recoveries a second on one core, against ~830 for viem's generic recoverAddress),
// or @noble/curves when the addon was not built at install (about 10x slower). Recovery follows the vault's rules:
// 65-byte signatures, v in {27, 28} or {0, 1}, and no high-s (malleable) signature.
import { createRequire } from "node:module";
import { keccak256 as keccak_256 } from "./keccak.ts";
import { secp256k1 as noble } from "@noble/curves/secp256k1.js";
import type { Address, Hex } from "viem";

interface Secp256k1 {
  ecdsaRecover(signature: Uint8Array, recid: number, message: Uint8Array, compressed: boolean): Uint8Array;
  ecdsaSign(message: Uint8Array, key: Uint8Array): { signature: Uint8Array; recid: number };
}

interface Backend {
  name: "libsecp256k1" | "noble";
  recover(sig64: Uint8Array, recid: number, digest: Uint8Array): Uint8Array;
  sign(digest: Uint8Array, key: Uint8Array): { signature: Uint8Array; recid: number };
}

const HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;

function loadBackend(): Backend {
  try {
    const native = createRequire(import.meta.url)("secp256k1/bindings") as Secp256k1;
    return {
      name: "libsecp256k1",
      recover: (sig, recid, digest) => native.ecdsaRecover(sig, recid, digest, false),
      sign: (digest, key) => native.ecdsaSign(digest, key),
    };
  } catch {
    return {
      name: "noble",
      recover: (sig, recid, digest) =>
        noble.Signature.fromCompact(sig).addRecoveryBit(recid).recoverPublicKey(digest).toRawBytes(false),
      sign: (digest, key) => {
        const sig = noble.sign(digest, key, { prehash: false });
        return { signature: sig.toBytes("compact"), recid: sig.recovery };
      },
    };
  }
}

const backend = loadBackend();
export const recoveryBackend = backend.name;

/** Recovers the address that signed `digest`, or undefined for a malformed or malleable signature. */
export function recoverAddress(digest: Uint8Array, signature: Uint8Array): Address | undefined {
  if (signature.length !== 65 || digest.length !== 32) return undefined;
  const v = signature[64]!;
  const recid = v >= 27 ? v - 27 : v;
  if (recid !== 0 && recid !== 1) return undefined;
  const sig64 = signature.subarray(0, 64);
  let s = 0n;
  for (let i = 32; i < 64; i++) s = (s << 8n) | BigInt(sig64[i]!);
  if (s === 0n || s > HALF_N) return undefined;
  let publicKey: Uint8Array;
  try {
    publicKey = backend.recover(sig64, recid, digest);
  } catch {
    return undefined;
  }
  const hash = keccak_256(publicKey.subarray(1));
  return `0x${Buffer.from(hash.subarray(12)).toString("hex")}` as Address;
}

/** A 65-byte signature of a 32-byte digest, r ‖ s ‖ v with v = 27 + recovery id (what ecrecover and viem expect). */
export function signDigest(digest: Uint8Array, key: Uint8Array): Hex {
  const { signature, recid } = backend.sign(digest, key);
  const bytes = Buffer.allocUnsafe(65);
  bytes.set(signature, 0);
  bytes[64] = 27 + recid;
  return `0x${bytes.toString("hex")}`;
}

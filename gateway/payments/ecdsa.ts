// secp256k1 signing for the request path: libsecp256k1 through the `secp256k1` native addon (tens of microseconds a
// signature), or @noble/curves when the addon was not built at install. Recovery lives in recover.ts.
import { createRequire } from "node:module";
import { secp256k1 as noble } from "@noble/curves/secp256k1.js";
import type { Hex } from "viem";

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

/** A 65-byte signature of a 32-byte digest, r ‖ s ‖ v with v = 27 + recovery id (what ecrecover and viem expect). */
export function signDigest(digest: Uint8Array, key: Uint8Array): Hex {
  const { signature, recid } = sign(digest, key);
  const bytes = Buffer.allocUnsafe(65);
  bytes.set(signature, 0);
  bytes[64] = 27 + recid;
  return `0x${bytes.toString("hex")}`;
}

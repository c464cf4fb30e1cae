// The gateway's voucher hot path agrees with viem (and so with the vault, see vault.test.ts) on every digest and
// signer, and refuses what the vault refuses: malformed and malleable signatures.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { randomBytes } from "node:crypto";
import { bytesToHex, hexToBytes, parseSignature, serializeSignature, toHex, type Address } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { createVoucherHasher, toHexDigest } from "../../gateway/payments/voucher-hash.ts";
import { recoverAddress, recoveryBackend } from "../../gateway/payments/secp256k1.ts";
import { hashVoucher, signVoucher, type Voucher } from "../../sdk/vouchers.ts";

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const vault = "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707" as Address;
const address = () => bytesToHex(randomBytes(20)) as Address;
const uint = (bits: number) => BigInt(bytesToHex(randomBytes(bits / 8)));

function randomVoucher(): Voucher {
  return {
    payer: address(),
    operator: address(),
    modelId: uint(256),
    lane: Number(uint(32)),
    cumulativeAmount: uint(128),
    cumulativeCalls: uint(64),
    expiry: uint(64),
  };
}

describe("voucher digest", () => {
  it("equals viem's EIP-712 hash for 200 random vouchers, on two chains", () => {
    for (const chainId of [31337, 8453]) {
      const hash = createVoucherHasher(chainId, vault);
      for (let i = 0; i < 100; i++) {
        const v = randomVoucher();
        assert.equal(toHexDigest(hash(v)), hashVoucher(v, chainId, vault));
      }
    }
  });

  it("handles the extremes: zero everywhere and the largest values", () => {
    const hash = createVoucherHasher(1, vault);
    const zero: Voucher = { payer: address(), operator: address(), modelId: 0n, lane: 0, cumulativeAmount: 0n, cumulativeCalls: 0n, expiry: 0n };
    const max: Voucher = { ...zero, modelId: 2n ** 256n - 1n, lane: 2 ** 32 - 1, cumulativeAmount: 2n ** 256n - 1n, cumulativeCalls: 2n ** 64n - 1n, expiry: 2n ** 64n - 1n };
    for (const v of [zero, max]) assert.equal(toHexDigest(hash(v)), hashVoucher(v, 1, vault));
  });

  it("refuses values outside their EIP-712 type instead of hashing something the vault would not", () => {
    const hash = createVoucherHasher(1, vault);
    const v = randomVoucher();
    assert.throws(() => hash({ ...v, cumulativeCalls: 2n ** 64n }), /uint64/);
    assert.throws(() => hash({ ...v, expiry: -1n }), /uint64/);
    assert.throws(() => hash({ ...v, cumulativeAmount: 2n ** 256n }), /uint256/);
    assert.throws(() => hash({ ...v, lane: 2 ** 32 }), /uint32/);
    assert.throws(() => hash({ ...v, lane: -1 }), /uint32/);
    assert.throws(() => hash({ ...v, lane: 1.5 }), RangeError);
  });
});

describe("signer recovery", () => {
  it("uses the native libsecp256k1 build", () => {
    assert.equal(recoveryBackend, "libsecp256k1");
  });

  it("recovers the signer of real signatures, with v as 27/28 or 0/1", async () => {
    const hash = createVoucherHasher(31337, vault);
    for (let i = 0; i < 20; i++) {
      const account = privateKeyToAccount(generatePrivateKey());
      const v = { ...randomVoucher(), payer: account.address };
      const { signature } = await signVoucher(account, v, 31337, vault);
      const digest = hash(v);
      assert.equal(recoverAddress(digest, hexToBytes(signature))?.toLowerCase(), account.address.toLowerCase());
      const { r, s, yParity } = parseSignature(signature);
      const compact = hexToBytes(serializeSignature({ r, s, yParity }));
      compact[64] = yParity!;
      assert.equal(recoverAddress(digest, compact)?.toLowerCase(), account.address.toLowerCase());
    }
  });

  it("refuses malleable, malformed and wrong-length signatures", async () => {
    const account = privateKeyToAccount(generatePrivateKey());
    const v = { ...randomVoucher(), payer: account.address };
    const digest = createVoucherHasher(31337, vault)(v);
    const { signature } = await signVoucher(account, v, 31337, vault);
    const { r, s, yParity } = parseSignature(signature);
    const malleable = hexToBytes(serializeSignature({ r, s: toHex(N - BigInt(s), { size: 32 }), yParity: yParity === 0 ? 1 : 0 }));
    const bad = hexToBytes(signature);
    bad[64] = 29;
    for (const sig of [malleable, bad, new Uint8Array(65), hexToBytes(signature).subarray(0, 64), new Uint8Array(66)]) {
      assert.equal(recoverAddress(digest, sig), undefined);
    }
    assert.equal(recoverAddress(digest.subarray(0, 31), hexToBytes(signature)), undefined);
    // A valid signature over another digest recovers some other address, never the signer.
    assert.notEqual(recoverAddress(new Uint8Array(32).fill(1), hexToBytes(signature))?.toLowerCase(), account.address.toLowerCase());
  });
});

// The secp256k1 pool gives the same answers on its worker threads as on the event loop — signers recovered as viem
// recovers them, malformed and malleable signatures refused, receipts signed so that viem recovers the operator —
// runs inline while the loop is idle, offloads while it is busy, and runs what it still holds inline once closed.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, it } from "node:test";
import { bytesToHex, hexToBytes, recoverAddress as viemRecover, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { SecpPool } from "../../gateway/payments/secp-pool.ts";

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const operatorKey = generatePrivateKey();
const operator = privateKeyToAccount(operatorKey).address;

/** `count` digests signed by random keys, plus what each should recover to. */
async function signedDigests(count: number): Promise<{ digest: Uint8Array; signature: Uint8Array; signer: Address }[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const account = privateKeyToAccount(generatePrivateKey());
      const digest = randomBytes(32);
      const signature = hexToBytes(await account.sign({ hash: bytesToHex(digest) }));
      // secp256k1.ts recovers addresses in lowercase (the request path compares case-insensitively).
      return { digest, signature, signer: account.address.toLowerCase() as Address };
    }),
  );
}

/** The same signature with s replaced by n − s: valid for ECDSA, refused by the vault. */
function malleable(signature: Uint8Array): Uint8Array {
  const s = BigInt(bytesToHex(signature.subarray(32, 64)));
  const out = signature.slice();
  out.set(hexToBytes(`0x${(N - s).toString(16).padStart(64, "0")}` as Hex), 32);
  out[64] = out[64] === 27 ? 28 : 27;
  return out;
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    assert.ok(Date.now() < deadline, what);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Keeps the event loop busy (so the pool sees high utilization) until the returned function is called. */
function busyLoop(): () => void {
  let on = true;
  const spin = () => {
    if (!on) return;
    const end = performance.now() + 8;
    while (performance.now() < end);
    setImmediate(spin);
  };
  spin();
  return () => (on = false);
}

describe("secp256k1 pool", () => {
  const pools: SecpPool[] = [];
  after(async () => {
    for (const pool of pools) await pool.close();
  });

  it("runs inline while the event loop is idle, with viem's answers", async () => {
    const pool = new SecpPool({ threads: 2, signingKey: operatorKey, sampleMs: 20 });
    pools.push(pool);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(pool.offloading, false);
    for (const { digest, signature, signer } of await signedDigests(5)) assert.equal(await pool.recover(digest, signature), signer);
    const digest = randomBytes(32);
    assert.equal(await viemRecover({ hash: bytesToHex(digest), signature: await pool.sign(digest) }), operator);
    assert.deepEqual(pool.counts, { inline: 6, offloaded: 0 });
  });

  it("offloads while the loop is busy: every answer equals the inline one, refusals included", async () => {
    const pool = new SecpPool({ threads: 2, signingKey: operatorKey, sampleMs: 20, busyAbove: 0.5 });
    pools.push(pool);
    const cases = await signedDigests(300);
    const stop = busyLoop();
    try {
      await until(() => pool.offloading, "the pool never started offloading under a busy loop");
      // One turn of the loop: every job joins one batch, split over both workers.
      const recovered = Promise.all(cases.map(({ digest, signature }) => pool.recover(digest, signature)));
      const refused = Promise.all([
        pool.recover(cases[0]!.digest, malleable(cases[0]!.signature)),
        pool.recover(cases[1]!.digest, Uint8Array.from(cases[1]!.signature, (b, i) => (i === 64 ? 29 : b))),
        pool.recover(cases[2]!.digest, new Uint8Array(65)),
      ]);
      const digests = Array.from({ length: 50 }, () => randomBytes(32));
      const signatures = Promise.all(digests.map((d) => pool.sign(d)));
      assert.deepEqual(await recovered, cases.map((c) => c.signer));
      assert.deepEqual(await refused, [undefined, undefined, undefined]);
      const signed = await signatures;
      for (let i = 0; i < digests.length; i++) assert.equal(await viemRecover({ hash: bytesToHex(digests[i]!), signature: signed[i]! }), operator);
      assert.equal(pool.counts.offloaded, 353);
    } finally {
      stop();
    }
  });

  it("refuses a signature of the wrong length without a thread hop", async () => {
    const pool = new SecpPool({ threads: 1, signingKey: operatorKey });
    pools.push(pool);
    const { digest, signature } = (await signedDigests(1))[0]!;
    assert.equal(await pool.recover(digest, signature.subarray(0, 64)), undefined);
    assert.equal(await pool.recover(digest.subarray(0, 31), signature), undefined);
  });

  it("with no threads, or once closed, runs everything inline", async () => {
    const inline = new SecpPool({ threads: 0, signingKey: operatorKey });
    const { digest, signature, signer } = (await signedDigests(1))[0]!;
    assert.equal(await inline.recover(digest, signature), signer);
    assert.equal(inline.offloading, false);
    await inline.close();

    const pool = new SecpPool({ threads: 1, signingKey: operatorKey, sampleMs: 20 });
    const stop = busyLoop();
    try {
      await until(() => pool.offloading, "the pool never started offloading under a busy loop");
      const pending = pool.recover(digest, signature);
      await pool.close();
      assert.equal(await pending, signer, "a job submitted before close is answered");
      assert.equal(await pool.recover(digest, signature), signer, "and one after it, inline");
      assert.equal(pool.offloading, false);
    } finally {
      stop();
    }
  });
});

// Paying with a session key: the payer registers a plain key on the vault with a cap and an expiry, and the agent
// holding that key pays vouchers charged to the payer's escrow — within the cap, and not a unit beyond.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { isAddressEqual } from "viem";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { GatewayError, VoucherResyncError } from "../../sdk/x402/errors.ts";
import { MemoryLaneStore } from "../../sdk/x402/lane-store.ts";
import { createPayingFetch } from "../../sdk/x402/paying-fetch.ts";
import { revokeSessionSigner, sessionOf, setSessionSigner, type VaultWriter } from "../../sdk/x402/session-keys.ts";
import { recordingFetch } from "../helpers/fetch-wire.ts";
import { startPaidGateway, type PaidGateway } from "../helpers/paid-gateway.ts";

const PRICE = 2_000n;
const INPUT = { input: { dims: [1, 4], data: [1, 2, 3, 4] } };
const DAY = 86_400n;

describe("paying with a session key", () => {
  let g: PaidGateway;
  let payer: PrivateKeyAccount;
  let vault: VaultWriter;

  before(async () => {
    g = await startPaidGateway();
  });

  after(async () => g?.stop());

  // Each test pays from a fresh payer (with gas money: it registers its session keys itself).
  beforeEach(async () => {
    const key = generatePrivateKey();
    payer = privateKeyToAccount(key);
    await g.chain.publicClient.request({ method: "hardhat_setBalance", params: [payer.address, "0x8ac7230489e80000"] } as never);
    await g.fund(payer.address, { escrow: 1_000_000n });
    vault = { publicClient: g.chain.publicClient, walletClient: g.chain.wallet(key), vault: g.chain.deployment.contracts.vault };
  });

  async function chainNow(): Promise<bigint> {
    return (await g.chain.publicClient.getBlock()).timestamp;
  }

  it("pays within the key's cap, and the call beyond it is refused with session_cap_exceeded", async () => {
    const agent = privateKeyToAccount(generatePrivateKey());
    const expiry = (await chainNow()) + 2n * DAY;
    await setSessionSigner(vault, agent.address, 3n * PRICE, expiry);
    assert.deepEqual(await sessionOf(g.chain.publicClient, vault.vault, payer.address, agent.address), { cap: 3n * PRICE, spent: 0n, expiry });

    const pay = createPayingFetch({ account: agent, payer: payer.address, maxPricePerCall: PRICE, gateway: g.gateway.url });
    for (let i = 1n; i <= 3n; i++) {
      const result = await pay.infer(1n, INPUT);
      assert.equal(result.payment.payer, payer.address);
      assert.equal(result.payment.cumulativeAmount, i * PRICE);
      assert.equal(result.payment.receipt.receipt.payer, payer.address);
      assert.equal(result.payment.receiptVerified, true);
    }
    await assert.rejects(pay.infer(1n, INPUT), (error: unknown) => {
      assert.ok(error instanceof GatewayError);
      assert.equal(error.status, 402);
      assert.equal(error.code, "session_cap_exceeded");
      assert.match(error.message, new RegExp(`session key ${agent.address} would pass its cap of ${3n * PRICE}`, "i"));
      return true;
    });
    const lanes = (await g.gateway.ledger.lanes(g.gateway.operator)).filter((l) => isAddressEqual(l.payer, payer.address));
    assert.equal(lanes.length, 1);
    assert.equal(lanes[0]!.cumulativeAmount, 3n * PRICE);
    assert.ok(isAddressEqual(lanes[0]!.signer, agent.address));
  });

  it("recovers the lanes a session key signed, in the agent after a restart and in the payer's own client", async () => {
    const agent = privateKeyToAccount(generatePrivateKey());
    await setSessionSigner(vault, agent.address, 100n * PRICE, (await chainNow()) + 2n * DAY);
    const base = { maxPricePerCall: PRICE, gateway: g.gateway.url };
    const first = createPayingFetch({ ...base, account: agent, payer: payer.address });
    await first.infer(1n, INPUT);
    const lane0 = (await first.infer(1n, INPUT)).payment.cumulativeAmount;

    const wire = recordingFetch();
    const restarted = createPayingFetch({ ...base, account: agent, payer: payer.address, laneStore: new MemoryLaneStore(), fetch: wire.fetch });
    const result = await restarted.infer(1n, INPUT);
    assert.equal(result.payment.cumulativeAmount, lane0 + PRICE);
    assert.deepEqual(wire.paidCalls().map((e) => e.code ?? e.status), ["voucher_out_of_sync", 200]);

    // The payer's own key did not sign that state: it takes the chain's word that the signer is its session key.
    await assert.rejects(createPayingFetch({ ...base, account: payer, laneStore: new MemoryLaneStore() }).infer(1n, INPUT), (error: unknown) => {
      assert.ok(error instanceof VoucherResyncError);
      assert.match(error.message, new RegExp(`is signed by ${agent.address}, which is neither the payer`));
      return true;
    });
    const own = await createPayingFetch({ ...base, account: payer, laneStore: new MemoryLaneStore(), publicClient: g.chain.publicClient }).infer(1n, INPUT);
    assert.equal(own.payment.cumulativeAmount, lane0 + 2n * PRICE);
  });

  it("stops paying once the key is revoked", async () => {
    const agent = privateKeyToAccount(generatePrivateKey());
    await setSessionSigner(vault, agent.address, 100n * PRICE, (await chainNow()) + 2n * DAY);
    const pay = createPayingFetch({ account: agent, payer: payer.address, maxPricePerCall: PRICE, gateway: g.gateway.url });
    await pay.infer(1n, INPUT);
    await revokeSessionSigner(vault, agent.address);
    assert.equal((await sessionOf(g.chain.publicClient, vault.vault, payer.address, agent.address)).expiry, 0n);
    // The gateway forgets the key when its chain watcher sees the revocation.
    let refusal: unknown;
    for (let i = 0; i < 50 && refusal === undefined; i++) {
      refusal = await pay.infer(1n, INPUT).then(
        () => undefined,
        (error: unknown) => error,
      );
      if (refusal === undefined) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(refusal instanceof GatewayError, String(refusal));
    assert.equal(refusal.code, "bad_signature");
  });

  it("refuses bad registrations with the vault's reason, and exact payments signed by a session key", async () => {
    const agent = privateKeyToAccount(generatePrivateKey());
    await assert.rejects(setSessionSigner(vault, agent.address, PRICE, (await chainNow()) - 1n), /^Error: setSessionSigner would fail: InvalidSession\(\)/);
    await assert.rejects(setSessionSigner(vault, agent.address, 0n, (await chainNow()) + DAY), /InvalidSession\(\)/);
    await assert.rejects(revokeSessionSigner(vault, agent.address), /^Error: revokeSessionSigner would fail: InvalidSession\(\)/);
    assert.throws(
      () => createPayingFetch({ account: agent, payer: payer.address, prefer: "exact", maxPricePerCall: PRICE }),
      /x402 exact payments are signed with the payer's own key; a session key can only sign vouchers/,
    );
  });
});

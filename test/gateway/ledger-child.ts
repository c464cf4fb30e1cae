// A separate process working on a ledger, for the tests that need two processes or a process killed mid-flight.
// Prints one JSON line per event on stdout.
//   compete <ledger-url> <operator> <payer> <lanes> <steps> <name>: prints {ready}, waits for a line on stdin, then races for every
//     step of every lane: reads the lane, tries to move it one step; prints {won: [lane, step]} for each step it took.
//   accept <ledger-url> <operator> <payer> <bursts> <perBurst>: accepts bursts of first vouchers (one burst per tick)
//     and prints {accepted: lane} as each resolves, forever (the parent SIGKILLs it).
//   spend <ledger-url> <operator> <payer> <lanes> <cap> <name>: prints {ready}, waits for a line on stdin, then pays
//     1,000 on each of its own lanes (four at a time, 10 ms apart), every voucher capped at <cap> unsettled; prints
//     {lane, result}.
import { createInterface } from "node:readline";
import { createLedger } from "../../gateway/ledger/index.ts";
import type { Address, Hex } from "viem";

// `hardhat test nodejs` loads every .ts file under test/ as a test file: this one acts only when a test spawns it.
if (process.env.MODELSHARE_TEST_CHILD === "ledger") await main();

async function main() {
  const [mode, url, operator, payer, a, b, name] = process.argv.slice(2) as [string, string, Address, Address, string, string, string];
  const ledger = await createLedger(url);
  const print = (event: object) => process.stdout.write(JSON.stringify(event) + "\n");
  const base = (lane: number) => ({ payer, operator, modelId: 1n, lane, expiry: 0n, signer: payer, inputSha256: `0x${"00".repeat(32)}` as Hex });
  const signature = (tag: string) => `0x${Buffer.from(tag.padEnd(65, ".")).toString("hex")}` as Hex;

  if (mode === "compete") {
    const lanes = Number(a);
    const steps = Number(b);
    const go = createInterface({ input: process.stdin });
    print({ ready: true });
    await new Promise((resolve) => go.once("line", resolve));
    go.close();
    await Promise.all(
      Array.from({ length: lanes }, async (_, lane) => {
        for (;;) {
          const current = (await ledger.lane({ payer, operator, modelId: 1n, lane }))?.cumulativeAmount ?? 0n;
          const step = Number(current / 1000n);
          if (step >= steps) return;
          const won = await ledger.accept({
            ...base(lane),
            expectedCumulative: current,
            cumulativeAmount: current + 1000n,
            cumulativeCalls: BigInt(step + 1),
            signature: signature(`${name}:${lane}:${step}`),
            acceptedAt: Date.now(),
          });
          if (won === "accepted") print({ won: [lane, step] });
        }
      }),
    );
    await ledger.close();
    print({ done: true });
  } else if (mode === "accept") {
    const bursts = Number(a);
    const perBurst = Number(b);
    for (let burst = 0; burst < bursts; burst++) {
      await Promise.all(
        Array.from({ length: perBurst }, async (_, i) => {
          const lane = burst * perBurst + i;
          await ledger.accept({ ...base(lane), expectedCumulative: 0n, cumulativeAmount: 1000n + BigInt(lane), cumulativeCalls: 1n, signature: signature(`k:${lane}`), acceptedAt: Date.now() });
          print({ accepted: lane });
        }),
      );
    }
    print({ done: true });
    await new Promise(() => {});
  } else if (mode === "spend") {
    const lanes = Number(a);
    const maxUnsettled = BigInt(b);
    const first = name === "a" ? 0 : 1_000_000;
    const go = createInterface({ input: process.stdin });
    print({ ready: true });
    await new Promise((resolve) => go.once("line", resolve));
    go.close();
    for (let lane = first; lane < first + lanes; lane += 4) {
      await Promise.all(
        [0, 1, 2, 3].map(async (i) => {
          const result = await ledger.accept({
            ...base(lane + i),
            expectedCumulative: 0n,
            cumulativeAmount: 1000n,
            cumulativeCalls: 1n,
            signature: signature(`${name}:${lane + i}`),
            acceptedAt: Date.now(),
            maxUnsettled,
          });
          print({ lane: lane + i, result });
        }),
      );
      // SQLite's busy handler polls with backoff: without a pause, whoever holds the write lock keeps it.
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await ledger.close();
    print({ done: true });
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
}

// The request path's writes to a SQLite ledger (accepted vouchers and x402 `exact` nonces), applied as one
// transaction per group-commit batch. Shared by the writer thread (sqlite-writer.ts) and, for `writer: "inline"`,
// the main thread, so both run the same statements.
import type { DatabaseSync } from "node:sqlite";
import { sumUnsettled, type AcceptRow, type ExactRow } from "./codec.ts";
import type { AcceptResult } from "./types.ts";

export type Write = { kind: "accept"; row: AcceptRow } | { kind: "exact"; row: ExactRow };
/** An accept's outcome, or whether an exact nonce was new. */
export type WriteResult = AcceptResult | boolean;

interface Amounts {
  cumulative_amount: string;
  settled_amount: string;
}

const owed = (cumulative: bigint, settled: bigint) => (cumulative > settled ? cumulative - settled : 0n);

/** Prepares the statements once; the returned function commits a batch and returns one result per write. */
export function batchWriter(db: DatabaseSync): (batch: Write[]) => WriteResult[] {
  const update = db.prepare(`
    UPDATE lanes SET cumulative_amount = $cumulativeAmount, cumulative_calls = $cumulativeCalls, expiry = $expiry,
      signature = $signature, signer = $signer, input_sha256 = $inputSha256, accepted_at = $acceptedAt,
      unsettled_since = COALESCE(unsettled_since, $acceptedAt), rejected = NULL, rejected_at = NULL
    WHERE operator = $operator AND payer = $payer AND model_id = $modelId AND lane = $lane AND cumulative_amount = $expected`);
  const insert = db.prepare(`
    INSERT INTO lanes (operator, payer, model_id, lane, cumulative_amount, cumulative_calls, expiry, signature, signer,
      input_sha256, accepted_at, unsettled_since)
    VALUES ($operator, $payer, $modelId, $lane, $cumulativeAmount, $cumulativeCalls, $expiry, $signature, $signer,
      $inputSha256, $acceptedAt, $acceptedAt)
    ON CONFLICT DO NOTHING`);
  const exact = db.prepare(`
    INSERT INTO exact_authorizations (from_address, nonce, to_address, value, model_id, accepted_at)
    VALUES ($from, $nonce, $to, $value, $modelId, $acceptedAt) ON CONFLICT DO NOTHING`);
  const lane = db.prepare("SELECT cumulative_amount, settled_amount FROM lanes WHERE operator = ? AND payer = ? AND model_id = ? AND lane = ?");
  // A range of the primary key (operator, payer, …): no other index needed.
  const payerLanes = db.prepare("SELECT cumulative_amount, settled_amount FROM lanes WHERE operator = ? AND payer = ?");

  const accept = (row: AcceptRow, totals: Map<string, bigint>): AcceptResult => {
    const current = lane.get(row.operator, row.payer, row.modelId, row.lane) as Amounts | undefined;
    // Amounts are written by bigint.toString(), so text equality is exact; a lane expected at 0 must not exist.
    if ((current?.cumulative_amount ?? "0") !== row.expected) return "stale";
    // The batch holds the write lock (BEGIN IMMEDIATE), so no other process can change a payer's lanes until it
    // commits: its total is read once per batch and kept up to date by the batch's own accepts.
    const payer = `${row.operator}/${row.payer}`;
    let total = totals.get(payer);
    if (total === undefined && row.maxUnsettled !== null) total = sumUnsettled(payerLanes.all(row.operator, row.payer) as unknown as Amounts[]);
    let after: bigint | undefined;
    if (total !== undefined) {
      const settled = BigInt(current?.settled_amount ?? "0");
      after = total - owed(BigInt(row.expected), settled) + owed(BigInt(row.cumulativeAmount), settled);
      if (row.maxUnsettled !== null && after > BigInt(row.maxUnsettled)) {
        totals.set(payer, total);
        return "over_cap";
      }
    }
    const { expected, maxUnsettled: _cap, ...values } = row;
    // Rows always hold a cumulative above 0, so a lane expected at 0 can only be inserted, never updated.
    const changes = expected === "0" ? insert.run(values as never).changes : update.run({ ...values, expected } as never).changes;
    if (changes !== 1) return "stale";
    if (after !== undefined) totals.set(payer, after);
    return "accepted";
  };

  return (batch) => {
    db.exec("BEGIN IMMEDIATE");
    let results: WriteResult[];
    try {
      const totals = new Map<string, bigint>();
      results = batch.map((write) => (write.kind === "exact" ? exact.run(write.row as never).changes === 1 : accept(write.row, totals)));
    } catch (error) {
      db.exec("ROLLBACK");
      throw error;
    }
    db.exec("COMMIT");
    return results;
  };
}

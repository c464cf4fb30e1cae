// The request path's writes to a SQLite ledger (accepted vouchers and x402 `exact` nonces), applied as one
// transaction per group-commit batch. Shared by the writer thread (sqlite-writer.ts) and, for `writer: "inline"`,
// the main thread, so both run the same statements.
import type { DatabaseSync } from "node:sqlite";
import type { AcceptRow, ExactRow } from "./codec.ts";

export type Write = { kind: "accept"; row: AcceptRow } | { kind: "exact"; row: ExactRow };

/** Prepares the statements once; the returned function commits a batch and returns one result per write. */
export function batchWriter(db: DatabaseSync): (batch: Write[]) => boolean[] {
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

  const apply = (write: Write): boolean => {
    if (write.kind === "exact") return exact.run(write.row as never).changes === 1;
    // Rows always hold a cumulative above 0, so a lane expected at 0 can only be inserted, never updated.
    const { expected, ...values } = write.row;
    if (expected === "0") return insert.run(values as never).changes === 1;
    return update.run(write.row as never).changes === 1;
  };

  return (batch) => {
    db.exec("BEGIN IMMEDIATE");
    let results: boolean[];
    try {
      results = batch.map(apply);
    } catch (error) {
      db.exec("ROLLBACK");
      throw error;
    }
    db.exec("COMMIT");
    return results;
  };
}

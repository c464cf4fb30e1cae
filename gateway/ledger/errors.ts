// The one error type the ledger throws, with a stable `code` so callers (the server at start, the CLI) can tell a
// configuration mistake from an outage from a bug without parsing messages.
//
// | code           | meaning                                                                              |
// |----------------|--------------------------------------------------------------------------------------|
// | bad_url        | the ledger URL is neither `sqlite:<path>` nor `postgres://…`                          |
// | unreachable    | the database cannot be opened or reached (missing directory, refused connection…)     |
// | not_a_ledger   | the file or schema exists but holds something else                                    |
// | schema_too_new | the ledger was written by a newer version of Modelshare                               |
// | bad_input      | a value the ledger refuses (a voucher that does not advance its lane, a bad address…)  |
// | conflict       | a second settlement transaction for a sender and nonce that already has one in flight |
// | closed         | the ledger was closed                                                                |
// | db_error       | the database failed an operation (disk full, I/O error, lost connection)              |

export type LedgerErrorCode =
  | "bad_url"
  | "unreachable"
  | "not_a_ledger"
  | "schema_too_new"
  | "bad_input"
  | "conflict"
  | "closed"
  | "db_error";

export class LedgerError extends Error {
  readonly code: LedgerErrorCode;

  constructor(code: LedgerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "LedgerError";
    this.code = code;
  }
}

/** The message of anything thrown. */
export function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

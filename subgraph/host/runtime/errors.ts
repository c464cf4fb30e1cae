// Errors of the mapping runtime. Deterministic ones (the same block always fails the same way) mark the deployment
// failed; anything else is retried, because it came from the machine (a database, the network) and not the mapping.
import { DeterministicError } from "../store/types.ts";

export { DeterministicError };

/** A module imports a host function the embedded host does not provide; raised when the module is loaded. */
export class MissingHostFunctionError extends Error {
  override name = "MissingHostFunctionError";
  readonly functions: string[];
  constructor(functions: string[], module: string) {
    const list = functions.join(", ");
    super(`the host does not implement ${list}, needed by ${module}`);
    this.functions = functions;
  }
}

/** A module is not a graph-cli build the host can run (missing exports, unsupported apiVersion). */
export class InvalidModuleError extends Error {
  override name = "InvalidModuleError";
}

/** A failure outside the mapping's control while a handler ran (a store that could not be read): worth retrying. */
export class TransientHandlerError extends Error {
  override name = "TransientHandlerError";
}

/** Where a deterministic failure happened, for the store's failure record and the logs. */
export class HandlerFailedError extends DeterministicError {
  override name = "HandlerFailedError";
  readonly handler: string;
  readonly dataSource: string;
  readonly blockNumber: number;
  constructor(message: string, where: { handler: string; dataSource: string; blockNumber: number }, options?: ErrorOptions) {
    super(`${where.dataSource}.${where.handler} failed at block ${where.blockNumber}: ${message}`, options);
    this.handler = where.handler;
    this.dataSource = where.dataSource;
    this.blockNumber = where.blockNumber;
  }
}

/** `expected` but the mapping passed something else: a deterministic error naming the host function. */
export function hostError(fn: string, message: string): DeterministicError {
  return new DeterministicError(`${fn}: ${message}`);
}

// Checks a paid inference answer against its receipt: the receipt must be the operator's signature over this model
// and version, the sha256 of the inputs the client sent and of the outputs it got back (canonical tensors, hashed as
// the gateway hashes them), and the payment that bought the call. A receipt that checks out proves, offline, which
// answer the operator gave for which money; one that does not is refused.
import type { Address, Hex } from "viem";
import { verifyReceipt, type ReceiptCheck, type ReceiptExpectation, type SignedReceiptJson } from "../receipts.ts";
import { tensorsFromJson, tensorsSha256, type TensorType } from "../tensors.ts";

export interface AnswerBody {
  model?: { id?: unknown; version?: unknown; weightsSha256?: unknown };
  outputs?: unknown;
  receipt?: unknown;
  payment?: Record<string, unknown>;
}

/** sha256 of the inputs of an infer request body `{ inputs, version? }`, typed from the model's signature where the
 *  JSON leaves `type` out. Throws when the body holds no tensors the gateway could have run. */
export function requestInputsSha256(body: unknown, types: Readonly<Record<string, TensorType>>): Hex {
  const inputs = (body as { inputs?: unknown } | null)?.inputs;
  return tensorsSha256(tensorsFromJson(inputs, { types }));
}

export function answerOutputsSha256(answer: AnswerBody): Hex {
  return tensorsSha256(tensorsFromJson(answer.outputs, { nonFinite: true }));
}

export interface AnswerCheckContext {
  chainId: number;
  vault: Address;
  /** What the payment says the receipt must carry (payer, payment id, cumulative, call index, operator…). */
  expected: ReceiptExpectation;
  /** The PAYMENT-RESPONSE's receipt (the authoritative copy). */
  receipt: SignedReceiptJson | undefined;
  requestBody: unknown;
  answer: AnswerBody;
  inputTypes: Readonly<Record<string, TensorType>>;
  /** The version the request pinned, if any. */
  version: number | undefined;
}

export async function checkAnswer(ctx: AnswerCheckContext): Promise<ReceiptCheck> {
  const { receipt, answer } = ctx;
  if (!receipt || typeof receipt !== "object" || !receipt.receipt) return { ok: false, reason: "the answer carries no receipt" };
  if (answer.receipt !== undefined && JSON.stringify(answer.receipt) !== JSON.stringify(receipt)) {
    return { ok: false, reason: "the receipt in the body differs from the one in PAYMENT-RESPONSE" };
  }
  let inputSha256: Hex;
  let outputSha256: Hex;
  try {
    inputSha256 = requestInputsSha256(ctx.requestBody, ctx.inputTypes);
  } catch (error) {
    return { ok: false, reason: `the inputs sent cannot be hashed: ${(error as Error).message}` };
  }
  try {
    outputSha256 = answerOutputsSha256(answer);
  } catch (error) {
    return { ok: false, reason: `the outputs received are not valid tensors: ${(error as Error).message}` };
  }
  const model = answer.model ?? {};
  const expected: ReceiptExpectation = { ...ctx.expected, inputSha256, outputSha256 };
  if (typeof model.version === "number") expected.version = model.version;
  if (typeof model.weightsSha256 === "string") expected.weightsSha256 = model.weightsSha256 as Hex;
  if (ctx.version !== undefined) {
    if (model.version !== ctx.version) return { ok: false, reason: `version ${String(model.version)} answered, but version ${ctx.version} was asked for` };
  }
  return verifyReceipt(receipt, { chainId: ctx.chainId, vault: ctx.vault }, expected);
}

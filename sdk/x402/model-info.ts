// What a gateway says about a model it serves (GET /v1/models/:id): price, version, weights hash, the input/output
// signature, and the x402 payment options a 402 would list. A paying client reads it once per model to pay its first
// call without an unpaid round trip, and to know the element types of inputs sent without `type` (it hashes the
// inputs exactly as the gateway does to check the receipt).
import type { PaymentRequirements } from "@x402/core/types";
import { z } from "zod";
import { isTensorType, type TensorType } from "../tensors.ts";

const signatureSchema = z.array(z.object({ name: z.string(), type: z.string(), shape: z.array(z.union([z.number(), z.string()])) }));

const modelInfoSchema = z.object({
  modelId: z.string(),
  version: z.number(),
  latestVersion: z.number().optional(),
  weightsSha256: z.string(),
  pricePerCall: z.string(),
  paused: z.boolean().optional(),
  inputs: signatureSchema,
  outputs: signatureSchema,
  accepts: z.array(
    z.object({
      scheme: z.string(),
      network: z.string(),
      asset: z.string(),
      amount: z.string(),
      payTo: z.string(),
      maxTimeoutSeconds: z.number(),
      extra: z.record(z.string(), z.unknown()),
    }),
  ),
});

export type GatewayModelInfo = Omit<z.infer<typeof modelInfoSchema>, "accepts"> & { accepts: PaymentRequirements[] };

/** Thrown when the gateway does not describe the model (unknown model, not a Modelshare gateway, unreachable). */
export class ModelInfoError extends Error {
  readonly status: number | undefined;
  readonly code: string | undefined;

  constructor(message: string, status?: number, code?: string) {
    super(message);
    this.name = "ModelInfoError";
    this.status = status;
    this.code = code;
  }
}

export async function fetchModelInfo(fetcher: typeof fetch, origin: string, modelId: string, version?: number): Promise<GatewayModelInfo> {
  const url = `${origin}/v1/models/${modelId}${version === undefined ? "" : `?version=${version}`}`;
  let response: Response;
  try {
    response = await fetcher(url, { headers: { accept: "application/json" } });
  } catch (error) {
    throw new ModelInfoError(`cannot reach the gateway at ${origin}: ${(error as Error).message}`);
  }
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ModelInfoError(`GET ${url} answered ${response.status} with something that is not JSON`, response.status);
  }
  if (!response.ok) {
    const error = (json as { error?: { code?: unknown; message?: unknown } }).error;
    const code = typeof error?.code === "string" ? error.code : undefined;
    const message = typeof error?.message === "string" ? error.message : `status ${response.status}`;
    throw new ModelInfoError(`the gateway does not serve model ${modelId}: ${message}`, response.status, code);
  }
  const parsed = modelInfoSchema.safeParse(json);
  if (!parsed.success) throw new ModelInfoError(`GET ${url} did not answer with a Modelshare model description`, response.status);
  return parsed.data as GatewayModelInfo;
}

/** The element types of a model's inputs, for hashing inputs sent without `type`. */
export function inputTypes(info: Pick<GatewayModelInfo, "inputs">): Record<string, TensorType> {
  const types: Record<string, TensorType> = {};
  for (const input of info.inputs) if (isTensorType(input.type)) types[input.name] = input.type;
  return types;
}

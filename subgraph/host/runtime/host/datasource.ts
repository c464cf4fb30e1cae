// dataSource.create / createWithContext / address / network / context. Created data sources are collected on the
// trigger's context (the indexer starts watching them) and recorded in the block's writer (they survive restarts
// and are undone by reorgs with the block).
import type { Entity } from "../../store/types.ts";
import type { TriggerContext } from "../context.ts";
import { DeterministicError } from "../errors.ts";
import { stringToAddress, hex } from "./conversion.ts";
import type { HostFunctions } from "./types.ts";

function create(ctx: TriggerContext, namePtr: number, paramsPtr: number, context: Entity): void {
  const name = ctx.marshal.string(namePtr);
  const params = ctx.marshal.stringArray(paramsPtr);
  if (!ctx.dataSource.templates.includes(name)) {
    throw new DeterministicError(
      `Failed to create data source from name \`${name}\`: no template with this name in parent data source ` +
        `\`${ctx.dataSource.name}\`. Available names: ${ctx.dataSource.templates.join(", ") || "(none)"}.`,
    );
  }
  const first = params[0];
  if (params.length !== 1 || first === undefined) {
    throw new DeterministicError(`data source template \`${name}\` takes one parameter, the contract address; got ${params.length}`);
  }
  const address = hex(stringToAddress(first));
  ctx.writer.addDataSource({ template: name, address, context });
  ctx.created.push({ template: name, address, context });
  ctx.logger.info({ template: name, address, block: ctx.blockNumber }, "create data source");
}

export const dataSourceFunctions: HostFunctions = {
  "dataSource.create"(ctx, namePtr, paramsPtr) {
    create(ctx, namePtr, paramsPtr, new Map());
  },
  "dataSource.createWithContext"(ctx, namePtr, paramsPtr, contextPtr) {
    create(ctx, namePtr, paramsPtr, ctx.marshal.entity(contextPtr));
  },
  "dataSource.address"(ctx) {
    return ctx.marshal.writeBytes(ctx.dataSource.address);
  },
  "dataSource.network"(ctx) {
    return ctx.marshal.writeString(ctx.dataSource.network);
  },
  "dataSource.context"(ctx) {
    return ctx.marshal.writeEntity(ctx.dataSource.context ?? new Map());
  },
};

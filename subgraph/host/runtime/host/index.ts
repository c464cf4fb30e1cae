// Every host function the embedded host implements, by import name. Modules are linked by name only (the import's
// module field is the AssemblyScript file that declared it and carries no meaning), as graph-node does.
import { abortFunctions } from "./abort.ts";
import { conversionFunctions } from "./conversion.ts";
import { dataSourceFunctions } from "./datasource.ts";
import { ethereumFunctions } from "./ethereum.ts";
import { jsonFunctions } from "./json.ts";
import { numberFunctions } from "./numbers.ts";
import { storeFunctions } from "./store.ts";
import type { HostFunctions } from "./types.ts";

export const hostFunctions: HostFunctions = {
  ...abortFunctions,
  ...storeFunctions,
  ...numberFunctions,
  ...conversionFunctions,
  ...dataSourceFunctions,
  ...ethereumFunctions,
  ...jsonFunctions,
};

export type { HostFunction, HostFunctions } from "./types.ts";

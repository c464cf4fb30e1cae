export { loadManifest, ManifestError, type Manifest, type DataSourceSpec, type TemplateSpec, type EventHandlerSpec } from "./manifest.ts";
export { MappingModule, type InstanceMode, type MappingModuleOptions } from "./mapping.ts";
export { hostFunctions, type HostFunction, type HostFunctions } from "./host/index.ts";
export { silentLogger, type Logger, type TriggerContext, type CreatedDataSource, type DataSourceInfo } from "./context.ts";
export { DeterministicError, HandlerFailedError, InvalidModuleError, MissingHostFunctionError, TransientHandlerError } from "./errors.ts";
export { writeEvent, prepareBlock, prepareTransaction, type BlockData, type TransactionData, type EventTrigger } from "./event.ts";
export type { EthereumValue } from "./ethereum-value.ts";

#!/usr/bin/env node
// `modelshare`: mint models, manage them, pay into escrow and claim royalties from the command line.
// Results on stdout (--json for scripts), progress and errors on stderr. Exit codes: 0 ok, 1 unexpected failure,
// 2 bad input, 3 environment (RPC, chain, deployment, gas money), 4 the contract would refuse or did — in cases
// 2–4 (before sending) no transaction was sent.
import { Command, Option } from "commander";
import pkg from "../../package.json" with { type: "json" };
import { register as balance } from "./commands/balance.ts";
import { register as claim } from "./commands/claim.ts";
import { register as deploy } from "./commands/deploy.ts";
import { register as deposit } from "./commands/deposit.ts";
import { register as dev } from "./commands/dev.ts";
import { register as gateway } from "./commands/gateway.ts";
import { register as infer } from "./commands/infer.ts";
import { register as indexer } from "./commands/indexer.ts";
import { register as mint } from "./commands/mint.ts";
import { register as models } from "./commands/models.ts";
import { register as price } from "./commands/price.ts";
import { register as settle } from "./commands/settle.ts";
import { register as show } from "./commands/show.ts";
import { register as version } from "./commands/version.ts";
import { register as withdraw } from "./commands/withdraw.ts";
import { EXIT } from "./output.ts";

const program = new Command("modelshare")
  .description("Tokenized AI models with pay-per-inference royalties")
  .version(pkg.version)
  .option("--config <file>", "config file (JSON; default ./.modelshare/config.json when present) [env MODELSHARE_CONFIG]")
  .option("--rpc-url <url>", "JSON-RPC endpoint (default http://127.0.0.1:8545) [env MODELSHARE_RPC_URL]")
  .option("--chain-id <id>", "refuse to act unless the endpoint is on this chain [env MODELSHARE_CHAIN_ID]")
  .option("--private-key <hex>", "signing key (prefer the env variable or a keystore) [env MODELSHARE_PRIVATE_KEY]")
  .option("--keystore <file>", "encrypted JSON keystore (v3) [env MODELSHARE_KEYSTORE]")
  .option("--password-file <file>", "keystore password file [env MODELSHARE_PASSWORD_FILE, or MODELSHARE_KEYSTORE_PASSWORD]")
  .option("--deployments <dir>", "directory of <chainId>.json deployment files [env MODELSHARE_DEPLOYMENTS_DIR]")
  .option("--deployment <file>", "an explicit deployment file [env MODELSHARE_DEPLOYMENT]")
  .addOption(new Option("--storage <kind>", "storage adapter [env MODELSHARE_STORAGE]").choices(["local", "nft.storage", "kubo"]))
  .option("--storage-dir <dir>", "local store directory (default ./.modelshare/store) [env MODELSHARE_STORAGE_DIR]")
  .option("--storage-url <url>", "nft.storage-compatible endpoint or Kubo RPC URL [env MODELSHARE_STORAGE_URL]")
  .option("--storage-token <token>", "nft.storage token [env MODELSHARE_STORAGE_TOKEN]")
  .option("--max-size <size>", "largest model file accepted, e.g. 2GiB (default) [env MODELSHARE_MAX_MODEL_SIZE]")
  .option("--json", "print one JSON object on stdout")
  .option("--raw", "type and show amounts in base units instead of decimals")
  .option("--no-progress", "never draw progress bars")
  .showHelpAfterError("(run with --help for usage)")
  .exitOverride((error) => {
    // Usage errors (unknown option, missing argument) exit 2 like every other bad input; help/version exit 0.
    process.exit(error.exitCode === 0 ? 0 : EXIT.usage);
  });

for (const add of [deploy, mint, models, show, price, version, deposit, withdraw, claim, balance, gateway, settle, indexer, infer, dev]) add(program);

await program.parseAsync(process.argv);

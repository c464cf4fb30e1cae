import { createRequire } from "node:module";
import { defineConfig } from "hardhat/config";
import hardhatToolboxViem from "@nomicfoundation/hardhat-toolbox-viem";
import hardhatUpgrades from "@openzeppelin/hardhat-upgrades";

// Hardhat cannot download compilers here: point it at the WASM solc shipped by the `solc` npm package.
const require = createRequire(import.meta.url);
const solcPath = require.resolve("solc/soljson.js");
const solcVersion: string = require("solc/package.json").version;

export default defineConfig({
  // hardhat-upgrades adds the storage-layout output (and a namespaced compilation) that upgrade-safety checks need.
  plugins: [hardhatToolboxViem, hardhatUpgrades],
  solidity: {
    version: solcVersion,
    path: solcPath,
    // Deployed as-is from OpenZeppelin; listed so Hardhat emits their artifacts.
    npmFilesToBuild: ["@openzeppelin/contracts/proxy/ERC1967/ERC1967Proxy.sol"],
    settings: {
      optimizer: { enabled: true, runs: 10_000 },
      evmVersion: "cancun",
    },
  },
});

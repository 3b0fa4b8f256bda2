import { createRequire } from "node:module";
import { defineConfig } from "hardhat/config";
import hardhatEthers from "@nomicfoundation/hardhat-ethers";
import hardhatEthersChaiMatchers from "@nomicfoundation/hardhat-ethers-chai-matchers";
import hardhatMocha from "@nomicfoundation/hardhat-mocha";
import hardhatNetworkHelpers from "@nomicfoundation/hardhat-network-helpers";

const require = createRequire(import.meta.url);

// solc-js from node_modules: the build works offline (no compiler download).
const solcSettings = {
  evmVersion: "cancun",
  viaIR: true, // the 13-field request struct does not fit the legacy code generator's stack
  optimizer: { enabled: true, runs: 200 },
};

export default defineConfig({
  plugins: [hardhatEthers, hardhatEthersChaiMatchers, hardhatMocha, hardhatNetworkHelpers],
  solidity: {
    profiles: {
      default: { version: "0.8.37", path: require.resolve("solc/soljson.js"), settings: solcSettings },
      production: { version: "0.8.37", path: require.resolve("solc/soljson.js"), settings: solcSettings },
    },
  },
  paths: {
    tests: { mocha: "test" },
  },
});

// Copies ABI and bytecode of the contracts that get Java wrappers from Hardhat artifacts into <outDir>/<Name>.abi
// and <Name>.bin, the inputs of web3j's SolidityFunctionWrapperGenerator. Fails when an artifact is missing.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [outDir, ...sources] = process.argv.slice(2);
if (!outDir || sources.length === 0) {
  console.error("usage: export-abi.mjs <outDir> <contracts/Path.sol:Name>...");
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });
for (const source of sources) {
  const [file, name] = source.split(":");
  const artifactPath = join("artifacts", file, `${name}.json`);
  let artifact;
  try {
    artifact = JSON.parse(readFileSync(artifactPath, "utf8"));
  } catch (e) {
    console.error(`missing or unreadable artifact ${artifactPath}: ${e.message}`);
    process.exit(1);
  }
  writeFileSync(join(outDir, `${name}.abi`), JSON.stringify(artifact.abi));
  writeFileSync(join(outDir, `${name}.bin`), artifact.bytecode.replace(/^0x/, ""));
  console.log(`exported ${name} (${artifact.abi.length} ABI entries, ${(artifact.bytecode.length - 2) / 2} bytes)`);
}

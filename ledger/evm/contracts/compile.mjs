// Reproducible build of TracehubAnchor.sol with the pinned solc-js (package.json).
//
//   node ledger/evm/contracts/compile.mjs [--out PATH]
//
// Writes the artifact (abi, bytecode, deployedBytecode, compiler version, settings) to
// ledger/evm/contracts/TracehubAnchor.json unless --out is given. The source is keyed by its
// bare file name and bytecodeHash is "none", so the output does not depend on the
// checkout path and tests can recompile and compare byte for byte.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import solc from "solc";

const here = dirname(fileURLToPath(import.meta.url));
const NAME = "TracehubAnchor";
const SOURCE = `${NAME}.sol`;

const settings = {
  optimizer: { enabled: true, runs: 200 },
  metadata: { bytecodeHash: "none" },
  outputSelection: {
    [SOURCE]: {
      [NAME]: ["abi", "metadata", "evm.bytecode.object", "evm.deployedBytecode.object"],
    },
  },
};

const input = {
  language: "Solidity",
  sources: { [SOURCE]: { content: readFileSync(join(here, SOURCE), "utf8") } },
  settings,
};

const output = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (output.errors ?? []).filter((e) => e.severity === "error");
for (const e of output.errors ?? []) process.stderr.write(`${e.formattedMessage}\n`);
if (errors.length > 0) process.exit(1);

const contract = output.contracts[SOURCE][NAME];
// Record the EVM version solc actually targeted (its default), not just "default".
const { evmVersion } = JSON.parse(contract.metadata).settings;
const artifact = {
  contractName: NAME,
  sourceName: SOURCE,
  compiler: { name: "solc-js", version: solc.version() },
  settings: { optimizer: settings.optimizer, metadata: settings.metadata, evmVersion },
  abi: contract.abi,
  bytecode: `0x${contract.evm.bytecode.object}`,
  deployedBytecode: `0x${contract.evm.deployedBytecode.object}`,
};

const args = process.argv.slice(2);
const outIndex = args.indexOf("--out");
const outPath = outIndex >= 0 ? args[outIndex + 1] : join(here, `${NAME}.json`);
writeFileSync(outPath, `${JSON.stringify(artifact, null, 2)}\n`);

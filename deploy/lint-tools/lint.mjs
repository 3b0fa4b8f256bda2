// deploy/lint's checker: everything under deploy/ that can be verified without a Docker engine or a cluster.
// Usage: node lint.mjs ROOT RENDERED_DIR   (RENDERED_DIR: `helm template` outputs written by HelmCheck.java)
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Report } from './checks/report.mjs';
import { walk, rel } from './checks/files.mjs';
import { checkYamlFile, parseYaml } from './checks/yaml-files.mjs';
import { checkDockerfile } from './checks/dockerfile.mjs';
import { checkCompose } from './checks/compose.mjs';
import { checkRenderedManifests } from './checks/k8s.mjs';
import { configKeysFromRecord, keyForEnv } from './checks/config-keys.mjs';
import {
  checkDashboard, checkMetricListAgainstSource, checkAgainstScrape, metricNames, readMetricList,
} from './checks/dashboard.mjs';
import { runSelfTest } from './checks/self-test.mjs';

const [root, renderedDir] = process.argv.slice(2);
if (!root || !renderedDir) {
  console.error('usage: node lint.mjs ROOT RENDERED_DIR');
  process.exit(2);
}
const deploy = path.join(root, 'deploy');
const at = (...p) => path.join(deploy, ...p);
const report = new Report();
const OWN_DIRS = ['docker', 'compose', 'helm', 'observability', 'lint-tools'].map((d) => at(d));
const isOwn = (f) => OWN_DIRS.some((d) => f.startsWith(d + path.sep));

const propertiesFile = path.join(root, 'oracle-service/src/main/java/dev/loracle/oracle/config/OracleProperties.java');
const knownKeys = configKeysFromRecord(propertiesFile);
if (!knownKeys) console.log(`note: ${rel(root, propertiesFile)} not found; configuration keys are not cross-checked`);

// 1. Every YAML and JSON file parses (Helm templates are checked after rendering).
const yamlFiles = walk(deploy, (f) => /\.ya?ml$/.test(f) && isOwn(f) && !/\/helm\/[^/]+\/templates\//.test(f));
report.check(`YAML validity of ${yamlFiles.length} files`, () => {
  for (const f of yamlFiles) checkYamlFile(report, rel(root, f), f);
});
const jsonFiles = walk(deploy, (f) => f.endsWith('.json') && isOwn(f));
report.check(`JSON validity of ${jsonFiles.length} files`, () => {
  for (const f of jsonFiles) {
    try { JSON.parse(readFileSync(f, 'utf8')); } catch (e) { report.error(rel(root, f), e.message); }
  }
});

// 2. Dockerfile policy, and its LORACLE_* settings are real keys.
const dockerfile = at('docker', 'Dockerfile');
report.check('Dockerfile policy (pinned bases, non-root, HEALTHCHECK, no ADD/URLs, no secret ENV, context files)', () => {
  checkDockerfile(report, rel(root, dockerfile), dockerfile, root);
});
const envKeysCheck = (where, names) => {
  if (!knownKeys) return;
  for (const n of names.filter((x) => x.startsWith('LORACLE_'))) {
    if (!keyForEnv(knownKeys, n)) report.error(where, `${n} binds no loracle.* key (Spring form: dots -> _, dashes dropped)`);
  }
};
report.check('Dockerfile ENV: defaults only through application.yml placeholders (ORACLE_*), never loracle.* keys', () => {
  const where = rel(root, dockerfile);
  const applicationYml = path.join(root, 'oracle-service/src/main/resources/application.yml');
  const placeholders = existsSync(applicationYml)
    ? new Set([...readFileSync(applicationYml, 'utf8').matchAll(/\$\{(ORACLE_[A-Z0-9_]+)/g)].map((m) => m[1])) : null;
  const names = [...readFileSync(dockerfile, 'utf8').matchAll(/^\s*(?:ENV\s+)?([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]);
  for (const n of names) {
    if (n.startsWith('LORACLE_')) report.error(where, `ENV ${n} sets a loracle.* key: an image env outranks the chart's and compose's config files; use the application.yml placeholder instead`);
    if (n.startsWith('ORACLE_') && placeholders && !placeholders.has(n)) report.error(where, `ENV ${n} is no placeholder of ${rel(root, applicationYml)}: it would be ignored`);
  }
});

// 3. Compose file.
const composeFile = at('compose', 'docker-compose.yml');
let compose = null;
report.check('docker-compose.yml (compose-spec schema, references, secrets as files, healthchecks, pinned images)', () => {
  compose = checkCompose(report, rel(root, composeFile), composeFile, { allowedProfiles: ['observability'], expectedImageBuild: true });
});
report.check('docker-compose.yml LORACLE_* env names bind real configuration keys', () => {
  for (const [name, service] of Object.entries(compose?.services ?? {})) {
    const env = Array.isArray(service.environment) ? service.environment.map((e) => e.split('=')[0]) : Object.keys(service.environment ?? {});
    if (name === 'oracle') envKeysCheck(`${rel(root, composeFile)} service ${name}`, env);
  }
});

// 4. Metrics: the list, the dashboard, the alert rules, the Prometheus scrape config.
const metricList = at('observability', 'metrics.txt');
const known = existsSync(metricList) ? readMetricList(metricList) : null;
const scrape = process.env.LORACLE_METRICS_SCRAPE || path.join(root, 'oracle-service/target/actuator-prometheus.txt');
report.check('metric list matches meters in the node source', () => {
  if (!known) { report.error(rel(root, metricList), 'missing'); return; }
  const sources = ['oracle-service', 'gpu-runtime', 'ipfs']
    .flatMap((m) => (existsSync(path.join(root, m, 'src/main')) ? walk(path.join(root, m, 'src/main'), (f) => f.endsWith('.java')) : []))
    .map((f) => readFileSync(f, 'utf8')).join('\n');
  checkMetricListAgainstSource(report, rel(root, metricList), known, sources);
});
const dashboardFile = at('observability', 'grafana', 'loracle-oracle.json');
let used = [];
report.check('Grafana dashboard (structure, every queried metric is exported)', () => {
  used = checkDashboard(report, rel(root, dashboardFile), dashboardFile, known);
});
const alertsFile = at('observability', 'loracle-alerts.yml');
report.check('Prometheus alert rules query exported metrics', () => {
  const { docs } = parseYaml(readFileSync(alertsFile, 'utf8'));
  for (const group of docs[0]?.groups ?? []) {
    for (const rule of group.rules ?? []) {
      if (!rule.alert || !rule.expr) { report.error(rel(root, alertsFile), `rule without alert/expr in group ${group.name}`); continue; }
      for (const m of metricNames(String(rule.expr))) {
        used.push(m);
        if (known && !known.has(m)) report.error(rel(root, alertsFile), `${rule.alert} queries ${m}, not in the metric list`);
      }
    }
  }
});
report.check('metrics used by dashboard and alerts against a live scrape (when one exists)', () => {
  if (!checkAgainstScrape(report, 'scrape', [...new Set(used)], scrape, known)) {
    console.log(`note: no scrape at ${rel(root, scrape)}; metrics checked against ${rel(root, metricList)} only`);
  }
});
const prometheusFile = at('observability', 'prometheus.yml');
report.check('prometheus.yml scrapes /actuator/prometheus of compose services and loads the alert rules', () => {
  const config = parseYaml(readFileSync(prometheusFile, 'utf8')).docs[0];
  const where = rel(root, prometheusFile);
  for (const job of config.scrape_configs ?? []) {
    if (job.metrics_path !== '/actuator/prometheus') report.error(where, `job ${job.job_name}: metrics_path must be /actuator/prometheus`);
    for (const target of (job.static_configs ?? []).flatMap((s) => s.targets ?? [])) {
      const host = target.split(':')[0];
      if (compose && !compose.services?.[host]) report.error(where, `target ${target}: no compose service ${host}`);
    }
  }
  const promMounts = compose?.services?.prometheus?.volumes ?? [];
  for (const ruleFile of config.rule_files ?? []) {
    if (!promMounts.some((v) => String(v).split(':')[1] === ruleFile)) report.error(where, `rule file ${ruleFile} is not mounted into the prometheus service`);
  }
});

// 5. Rendered Helm manifests.
const rendered = existsSync(renderedDir) ? walk(renderedDir, (f) => f.endsWith('.yaml')) : [];
report.check(`Kubernetes schema and policy of ${rendered.length} rendered chart variants`, () => {
  if (rendered.length === 0) report.error('helm', `no rendered manifests in ${renderedDir}`);
  for (const f of rendered) checkRenderedManifests(report, `helm template ${path.basename(f)}`, f, knownKeys);
});

// 6. The checkers themselves can fail: known-bad fixtures must be rejected.
report.check('self-test: known-bad fixtures are rejected', () => runSelfTest(report, path.join(deploy, 'lint-tools', 'fixtures'), root));

const failed = report.errors.length;
console.log(failed ? `deploy/lint: ${failed} problem(s) found` : `deploy/lint: all ${report.passed} checks passed`);
process.exit(failed ? 1 : 0);

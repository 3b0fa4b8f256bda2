// Rendered Helm output: each manifest validated against the Kubernetes OpenAPI schema (npm kubernetes-models),
// plus the node's deployment rules: at most one pod per key, Actuator probes, non-root, memory limit, secrets only
// as files, and an application.yaml whose loracle.* keys are the ones the node binds.
import { readFileSync } from 'node:fs';
import * as core from 'kubernetes-models/v1';
import * as apps from 'kubernetes-models/apps/v1';
import { parseYaml } from './yaml-files.mjs';
import { flattenKeys } from './config-keys.mjs';
import { looksSecret } from './secret-names.mjs';

const MODELS = {
  'v1/ConfigMap': core.ConfigMap,
  'v1/Secret': core.Secret,
  'v1/Service': core.Service,
  'v1/ServiceAccount': core.ServiceAccount,
  'v1/PersistentVolumeClaim': core.PersistentVolumeClaim,
  'apps/v1/StatefulSet': apps.StatefulSet,
  'apps/v1/Deployment': apps.Deployment,
};

function checkServiceMonitor(report, where, doc) {
  const endpoints = doc.spec?.endpoints ?? [];
  if (!doc.spec?.selector?.matchLabels) report.error(where, 'ServiceMonitor without spec.selector.matchLabels');
  if (!endpoints.length || endpoints.some((e) => e.path !== '/actuator/prometheus' || !e.port)) {
    report.error(where, 'ServiceMonitor endpoints must scrape a named port at /actuator/prometheus');
  }
}

function checkPodSpec(report, where, workload) {
  if ((workload.spec.replicas ?? 1) > 1) report.error(where, 'more than one replica: one pod per oracle key');
  const pod = workload.spec.template.spec;
  const runAsNonRoot = pod.securityContext?.runAsNonRoot;
  for (const c of pod.containers) {
    const w = `${where} container ${c.name}`;
    if (c.livenessProbe?.httpGet?.path !== '/actuator/health/liveness') report.error(w, 'liveness probe must GET /actuator/health/liveness');
    if (c.readinessProbe?.httpGet?.path !== '/actuator/health/readiness') report.error(w, 'readiness probe must GET /actuator/health/readiness');
    if (!(runAsNonRoot || c.securityContext?.runAsNonRoot)) report.error(w, 'runAsNonRoot is not set');
    if (!c.resources?.limits?.memory) report.error(w, 'no memory limit (the runtime red line needs a bounded container)');
    for (const e of c.env ?? []) {
      if (looksSecret(e.name) && e.value !== undefined) report.error(w, `env ${e.name} holds a secret in plain text`);
      if (/^0x[0-9a-fA-F]{64}$/.test(String(e.value ?? ''))) report.error(w, `env ${e.name} holds what looks like a private key`);
    }
  }
}

function checkApplicationConfig(report, where, doc, knownKeys) {
  const text = doc.data?.['application.yaml'];
  if (!text) { report.error(where, 'ConfigMap has no application.yaml'); return; }
  const { docs, problems } = parseYaml(text);
  problems.forEach((p) => report.error(`${where} application.yaml`, p));
  if (!docs.length) return;
  const config = docs[0];
  if (/0x[0-9a-fA-F]{64}/.test(JSON.stringify(config.loracle?.key ?? {}))) report.error(where, 'a private key is in the ConfigMap');
  if (!knownKeys) return;
  for (const key of flattenKeys(config.loracle, 'loracle')) {
    if (!knownKeys.has(key)) report.error(`${where} application.yaml`, `${key} is not a key the node binds (OracleProperties)`);
  }
}

// file: one rendered `helm template` output; knownKeys: set of loracle.* keys, or null when unknown.
export function checkRenderedManifests(report, name, file, knownKeys) {
  const { docs, problems } = parseYaml(readFileSync(file, 'utf8'));
  problems.forEach((p) => report.error(name, p));
  const kinds = [];
  for (const doc of docs.filter(Boolean)) {
    const id = `${doc.apiVersion}/${doc.kind}`;
    const where = `${name} ${doc.kind}/${doc.metadata?.name}`;
    kinds.push(doc.kind);
    if (doc.kind === 'ServiceMonitor' && doc.apiVersion === 'monitoring.coreos.com/v1') { checkServiceMonitor(report, where, doc); continue; }
    const Model = MODELS[id];
    if (!Model) { report.error(where, `unexpected kind ${id}`); continue; }
    try {
      new Model(doc).validate();
    } catch (e) {
      report.error(where, `schema: ${String(e.message).split('\n')[0]}`);
    }
    if (doc.kind === 'StatefulSet' || doc.kind === 'Deployment') checkPodSpec(report, where, doc);
    if (doc.kind === 'ConfigMap') checkApplicationConfig(report, where, doc, knownKeys);
  }
  for (const required of ['StatefulSet', 'Service', 'ConfigMap']) {
    if (!kinds.includes(required)) report.error(name, `no ${required} rendered`);
  }
}


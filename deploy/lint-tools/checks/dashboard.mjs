// Grafana dashboard JSON: structure Grafana needs to import it, and every metric its PromQL queries names must be a
// metric the node exports (the list in deploy/observability/metrics.txt, itself checked against the node's source
// and, when a scrape of /actuator/prometheus is at hand, against that scrape).
import { existsSync, readFileSync } from 'node:fs';

const PROMQL_WORDS = new Set([
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'and', 'or', 'unless', 'inf', 'nan',
]);

// Metric names referenced by a PromQL expression (Grafana variables and label matchers removed).
export function metricNames(expr) {
  let e = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""');
  e = e.replace(/\$\{[^}]*\}|\$\w+/g, '1');
  e = e.replace(/\{[^}]*\}/g, '');
  e = e.replace(/\[[^\]]*\]/g, '');
  e = e.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  const names = new Set();
  for (const m of e.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const rest = e.slice(m.index + m[0].length);
    if (/^\s*\(/.test(rest)) continue; // a function or aggregation
    if (PROMQL_WORDS.has(m[0].toLowerCase())) continue;
    if (/^\d/.test(m[0])) continue;
    if (/^(e|E)\d*$/.test(m[0])) continue;
    names.add(m[0]);
  }
  return [...names];
}

// Reads a metric list: one name per line, '#' comments, an optional second word as a flag ("lazy", "prometheus").
// Prometheus exposition text works too (# HELP/# TYPE skipped, the name is the part before '{' or ' ').
// Returns a Set of names with a `flags` Map (name -> flag) attached.
export function readMetricList(file) {
  const names = new Set();
  names.flags = new Map();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const name = t.split(/[{\s]/)[0];
    names.add(name);
    const flag = t.slice(name.length).trim();
    if (/^(lazy|prometheus)$/.test(flag)) names.flags.set(name, flag);
  }
  return names;
}

// Micrometer meter names a Prometheus series name may come from (loracle_tx_gas_used_total <- loracle.tx.gas.used).
export function meterNameCandidates(series) {
  let bases = [series];
  for (const suffix of ['_bucket', '_count', '_sum', '_max', '_total', '_created']) {
    bases = bases.flatMap((b) => (b.endsWith(suffix) ? [b, b.slice(0, -suffix.length)] : [b]));
  }
  for (const unit of ['_seconds', '_bytes', '_ratio', '_percent']) {
    bases = bases.flatMap((b) => (b.endsWith(unit) ? [b, b.slice(0, -unit.length)] : [b]));
  }
  return [...new Set(bases.map((b) => b.replace(/_/g, '.')))];
}

export function checkDashboard(report, name, file, knownMetrics) {
  let dashboard;
  try {
    dashboard = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    report.error(name, `not valid JSON: ${e.message}`);
    return [];
  }
  for (const field of ['title', 'uid', 'panels', 'schemaVersion', 'templating']) {
    if (!(field in dashboard)) report.error(name, `no ${field}`);
  }
  const variables = (dashboard.templating?.list ?? []).map((v) => v.name);
  if (!variables.includes('datasource')) report.error(name, 'no "datasource" template variable (needed to import it anywhere)');
  const ids = new Set();
  const used = new Set();
  const panels = (dashboard.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]);
  for (const panel of panels) {
    const where = `${name} panel ${panel.id} "${panel.title}"`;
    if (ids.has(panel.id)) report.error(where, 'duplicate panel id');
    ids.add(panel.id);
    if (!panel.gridPos || ['h', 'w', 'x', 'y'].some((k) => typeof panel.gridPos[k] !== 'number')) report.error(where, 'no complete gridPos');
    if (panel.type === 'row') continue;
    if (!panel.targets?.length) report.error(where, 'no queries');
    if (panel.datasource?.uid !== '${datasource}') report.error(where, 'datasource must be ${datasource}');
    for (const target of panel.targets ?? []) {
      if (!target.expr || !target.refId) { report.error(where, 'query without expr or refId'); continue; }
      const opens = (target.expr.match(/\(/g) ?? []).length;
      const closes = (target.expr.match(/\)/g) ?? []).length;
      if (opens !== closes) report.error(where, `unbalanced parentheses in ${target.expr}`);
      for (const metric of metricNames(target.expr)) {
        used.add(metric);
        if (knownMetrics && !knownMetrics.has(metric)) report.error(where, `queries ${metric}, which the node does not export (not in the metric list)`);
      }
    }
  }
  return [...used];
}

// Every loracle_* series in the list must come from a meter name that appears in the sources of the node.
export function checkMetricListAgainstSource(report, name, knownMetrics, sourceText) {
  for (const metric of knownMetrics) {
    if (!metric.startsWith('loracle_')) continue;
    const found = meterNameCandidates(metric).some((m) => sourceText.includes(`"${m}"`));
    if (!found) report.error(name, `${metric}: no meter named ${meterNameCandidates(metric).join(' / ')} in the node's source`);
  }
}

// Series the dashboard and alerts use must be in a real scrape, except those the list marks lazy or prometheus.
export function checkAgainstScrape(report, name, usedMetrics, scrapeFile, knownMetrics) {
  if (!existsSync(scrapeFile)) return false;
  const scraped = readMetricList(scrapeFile);
  let skipped = 0;
  for (const metric of usedMetrics) {
    if (scraped.has(metric)) continue;
    if (knownMetrics?.flags?.has(metric)) { skipped++; continue; }
    report.error(name, `${metric} is not in the scrape ${scrapeFile}`);
  }
  console.log(`note: ${usedMetrics.length - skipped} queried series found in ${scrapeFile}; ${skipped} marked lazy/prometheus not required`);
  return true;
}

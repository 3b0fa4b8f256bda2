// YAML validity of every YAML file under deploy/ (Helm templates excepted: they are Go templates until rendered;
// their output is checked after `helm template`).
import { readFileSync } from 'node:fs';
import YAML from 'yaml';

// Parses all documents of a YAML text; returns { docs, problems }. Duplicate keys, syntax errors and
// warnings are problems. Plain (unquoted) hex scalars are problems too: Spring's YAML 1.1 parser reads
// 0x5FbD... as a number, so an address or hash written that way silently turns into decimal digits.
export function parseYaml(text) {
  const problems = [];
  const docs = [];
  for (const doc of YAML.parseAllDocuments(text, { uniqueKeys: true, prettyErrors: true, merge: true })) {
    for (const e of doc.errors) problems.push(e.message);
    for (const w of doc.warnings) problems.push(`warning: ${w.message}`);
    YAML.visit(doc, {
      Scalar(_, node) {
        if (node.type === 'PLAIN' && node.range) {
          const source = text.slice(node.range[0], node.range[1]);
          if (/^0x[0-9a-fA-F]+$/.test(source)) {
            problems.push(`unquoted hex scalar ${source.slice(0, 12)}... would be read as a number: quote it`);
          }
        }
      },
    });
    if (doc.errors.length === 0) docs.push(doc.toJS({ maxAliasCount: 100 }));
  }
  return { docs, problems };
}

export function checkYamlFile(report, name, file) {
  const { docs, problems } = parseYaml(readFileSync(file, 'utf8'));
  for (const p of problems) report.error(name, p);
  if (docs.length === 0 && problems.length === 0) report.error(name, 'no YAML document');
  return docs;
}

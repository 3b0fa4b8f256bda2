// The node's configuration keys, read from the oracle-service source (the @ConfigurationProperties records), so that
// the chart, the compose file and the Dockerfile can be checked against the keys the node actually binds.
import { existsSync, readFileSync } from 'node:fs';

// Blanks out comments and string/char literals in one pass (so "//" inside a string is not a comment), then
// removes annotations, whose arguments may nest one level of parentheses.
function stripJava(source) {
  let out = '';
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    const next = source[i + 1];
    if (c === '/' && next === '/') { while (i < source.length && source[i] !== '\n') i++; out += '\n'; continue; }
    if (c === '/' && next === '*') { i = source.indexOf('*/', i + 2); if (i < 0) break; i++; out += ' '; continue; }
    if (c === '"' || c === "'") {
      i++;
      while (i < source.length && source[i] !== c) { if (source[i] === '\\') i++; i++; }
      out += `${c}${c}`;
      continue;
    }
    out += c;
  }
  return out.replace(/@[\w.]+(\((?:[^()]|\([^()]*\))*\))?/g, ' ');
}

function splitTopLevel(params) {
  const parts = [];
  let depth = 0;
  let current = '';
  for (const c of params) {
    if (c === '<') depth++;
    if (c === '>') depth--;
    if (c === ',' && depth === 0) { parts.push(current); current = ''; } else current += c;
  }
  if (current.trim()) parts.push(current);
  return parts.map((p) => p.trim().split(/\s+/)).map((w) => ({ type: w.slice(0, -1).join(' '), name: w[w.length - 1] }));
}

const kebab = (name) => name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();

// Returns the set of property names (e.g. loracle.chain.rpc-urls) bound by the record annotated with
// @ConfigurationProperties(prefix = PREFIX) in FILE, following nested records one level at a time.
export function configKeysFromRecord(file) {
  if (!existsSync(file)) return null;
  const raw = readFileSync(file, 'utf8');
  const prefix = raw.match(/@ConfigurationProperties\(\s*(?:prefix\s*=\s*)?"([^"]+)"/)?.[1];
  const source = stripJava(raw);
  const records = {};
  for (const m of source.matchAll(/record\s+(\w+)\s*\(([^)]*)\)/g)) records[m[1]] = splitTopLevel(m[2]);
  const top = Object.keys(records)[0];
  const keys = new Set();
  const visit = (recordName, path, depth) => {
    for (const component of records[recordName] ?? []) {
      const key = `${path}.${kebab(component.name)}`;
      const nested = component.type.replace(/<.*>/, '');
      if (records[nested] && depth < 4) visit(nested, key, depth + 1);
      else keys.add(key);
    }
  };
  visit(top, prefix, 0);
  return keys;
}

// Spring's canonical environment-variable form of a property: dots to underscores, dashes removed, upper case.
export function envName(property) {
  return property.replace(/\./g, '_').replace(/-/g, '').toUpperCase();
}

// Resolves an env var (LORACLE_CHAIN_RPCURLS, LORACLE_CHAIN_RPCURLS_0_) to a known key, or null.
export function keyForEnv(keys, variable) {
  const base = variable.replace(/_\d+_?$/, '');
  for (const key of keys) if (envName(key) === base) return key;
  return null;
}

// Flattens a config object (as parsed from application.yaml) into dotted keys under the given prefix.
export function flattenKeys(object, prefix) {
  const out = [];
  for (const [k, v] of Object.entries(object ?? {})) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object' && !Array.isArray(v)) out.push(...flattenKeys(v, key));
    else out.push(key);
  }
  return out;
}

// Names of environment variables / build args that carry secrets (word-wise: TOKENIZERPATH is not a TOKEN).
const SECRET_NAME = /(^|_)(PASSWORD|PASSWD|SECRET|TOKEN|CREDENTIALS?)(_|$)|PRIVATE_?KEY|(^|_)API_?KEYS?(_|$)|ADMIN_?KEYS?(_|$)/i;

export function looksSecret(name) {
  return SECRET_NAME.test(name);
}

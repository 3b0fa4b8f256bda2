# Sourced by the scripts: repo root, JDK 25, models directory, npm installs from the committed lock files.
LORACLE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export LORACLE_ROOT
# shellcheck source=jdk.sh
source "$LORACLE_ROOT/scripts/lib/jdk.sh"

loracle_models_dir() {
  if [ -n "${ORACLE_MODELS_DIR:-}" ]; then echo "$ORACLE_MODELS_DIR"
  elif [ -d "$LORACLE_ROOT/../shared/models" ]; then (cd "$LORACLE_ROOT/../shared/models" && pwd)
  else echo "$LORACLE_ROOT/models"; fi
}

# Installs DIR's npm packages at the locked versions unless node_modules already matches the lock file.
# Not `npm ci`: the registry here lacks other platforms' optional packages (anvil-darwin-*, ...), so the lock file
# cannot list them and `npm ci` refuses it; `npm install --no-save` keeps the locked versions and the lock file as is.
loracle_npm_install() {
  local dir=$1 stamp="$1/node_modules/.loracle-lock.sha256" want
  want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  echo "==> npm install (locked) in ${dir#$LORACLE_ROOT/}"
  (cd "$dir" && npm install --no-save --no-audit --no-fund --loglevel=error) && echo "$want" > "$stamp"
}

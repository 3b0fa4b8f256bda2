# Sourced by deploy/local-images, deploy/smoke and the CI: the Docker client to use and the engine's lifecycle.

# Picks a Docker client whose `docker build` runs BuildKit (the Dockerfile uses RUN --mount and COPY --chmod):
# one with the buildx plugin, else a client older than 23 (BuildKit built in, e.g. Debian's docker.io 20.10 at
# /usr/bin/docker). Sets LORACLE_DOCKER. A newer client without buildx only has the legacy builder.
loracle_docker_client() {
  local cli major
  for cli in "${DOCKER:-}" docker /usr/bin/docker; do
    [ -n "$cli" ] && command -v "$cli" >/dev/null 2>&1 || continue
    if "$cli" buildx version >/dev/null 2>&1; then LORACLE_DOCKER=$cli; return 0; fi
    major=$("$cli" version --format '{{.Client.Version}}' 2>/dev/null | cut -d. -f1) || true
    if [ -n "$major" ] && [ "$major" -lt 23 ] 2>/dev/null; then LORACLE_DOCKER=$cli; export DOCKER_BUILDKIT=1; return 0; fi
  done
  echo "error: no Docker client with BuildKit (install Debian's docker.io, or the buildx plugin)" >&2
  return 1
}

loracle_docker_engine_up() { "${LORACLE_DOCKER:-docker}" info >/dev/null 2>&1; }

# Starts dockerd (as root) when no engine answers; LORACLE_DOCKERD_PID is set only when this call started it, so
# that loracle_dockerd_stop stops only what was started here. Storage: overlay2, else vfs. No iptables or bridge:
# everything here runs with host networking.
loracle_dockerd_start() {
  local log=${LORACLE_DOCKERD_LOG:-/tmp/loracle-dockerd.log} driver i
  LORACLE_DOCKERD_PID=""
  if loracle_docker_engine_up; then return 0; fi
  command -v dockerd >/dev/null 2>&1 || { echo "dockerd is not installed" >&2; return 1; }
  [ "$(id -u)" = 0 ] || { echo "dockerd needs root here" >&2; return 1; }
  for driver in overlay2 vfs; do
    dockerd --storage-driver="$driver" --iptables=false --ip-masq=false \
      --host=unix:///var/run/docker.sock >"$log" 2>&1 &
    LORACLE_DOCKERD_PID=$!
    for i in $(seq 60); do
      if loracle_docker_engine_up; then echo "dockerd started (pid $LORACLE_DOCKERD_PID, storage $driver)"; return 0; fi
      kill -0 "$LORACLE_DOCKERD_PID" 2>/dev/null || break
      sleep 0.5
    done
    kill "$LORACLE_DOCKERD_PID" 2>/dev/null || true
    wait "$LORACLE_DOCKERD_PID" 2>/dev/null || true
    LORACLE_DOCKERD_PID=""
    echo "dockerd did not start with storage driver $driver:" >&2; tail -n 5 "$log" >&2
  done
  return 1
}

loracle_dockerd_stop() {
  [ -n "${LORACLE_DOCKERD_PID:-}" ] || return 0
  kill "$LORACLE_DOCKERD_PID" 2>/dev/null || true
  for _ in $(seq 40); do kill -0 "$LORACLE_DOCKERD_PID" 2>/dev/null || break; sleep 0.5; done
  kill -9 "$LORACLE_DOCKERD_PID" 2>/dev/null || true
  echo "dockerd stopped (pid $LORACLE_DOCKERD_PID)"
  LORACLE_DOCKERD_PID=""
}

# Can this engine run a container? (A daemon may start and still fail to run one: no cgroups, no overlay, seccomp.)
loracle_docker_can_run() {
  local image=$1
  "${LORACLE_DOCKER:-docker}" run --rm --network host "$image" true >/dev/null 2>&1
}

# For scripts/test: when a Docker engine answers, builds the local base images and points the Testcontainers variants
# at them (no registry needed: Ryuk and the startup checks' alpine are unavailable without one, so Ryuk is off and the
# check image is the local Debian base). Returns 1, saying why, when containers cannot be used here.
loracle_containers_setup() {
  local deploy_dir=$1
  if [ "${LORACLE_CONTAINERS:-1}" = 0 ]; then echo "==> containers: off (LORACLE_CONTAINERS=0)"; return 1; fi
  if ! loracle_docker_client 2>/dev/null || ! loracle_docker_engine_up; then
    echo "==> containers: no Docker engine answers: the image build, the compose smoke check and the Testcontainers"
    echo "    variants are skipped (.ci/run installs and starts one on Debian as root)"
    return 1
  fi
  echo "==> containers: base images (deploy/local-images)"
  "$deploy_dir/local-images" || { echo "==> containers: deploy/local-images failed: container checks skipped"; return 1; }
  # shellcheck source=../local-images.d/images.env
  source "$deploy_dir/local-images.d/images.env"
  if ! loracle_docker_can_run "$DEBIAN_IMAGE"; then
    echo "==> containers: the Docker engine cannot run a container here: container checks skipped"
    return 1
  fi
  export LORACLE_POSTGRES_IMAGE=$POSTGRES_IMAGE TESTCONTAINERS_RYUK_DISABLED=true TESTCONTAINERS_CHECKS_DISABLE=true \
    TESTCONTAINERS_TINYIMAGE_CONTAINER_IMAGE=$DEBIAN_IMAGE
}

# Anvil and cast from the npm packages deploy/dev-stack pins (@foundry-rs/anvil, @foundry-rs/cast), with the foundry
# image's interface: entrypoint `sh -c`, anvil and cast on PATH.
ARG NODE_IMAGE
ARG DEBIAN_IMAGE
FROM ${NODE_IMAGE} AS fetch
ARG FOUNDRY_VERSION=1.7.1
RUN mkdir /fetch && cd /fetch \
 && npm install --no-save --no-audit --no-fund --loglevel=error \
      @foundry-rs/anvil@${FOUNDRY_VERSION} @foundry-rs/cast@${FOUNDRY_VERSION} \
 && cp node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil node_modules/@foundry-rs/cast-linux-amd64/bin/cast /usr/local/bin/

FROM ${DEBIAN_IMAGE}
# cast's HTTP client refuses to start without a system CA store, even for plain-http RPC URLs.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=fetch /usr/local/bin/anvil /usr/local/bin/cast /usr/local/bin/
RUN anvil --version && cast --version
USER 10001:10001
ENTRYPOINT ["sh", "-c"]
CMD ["anvil --host 0.0.0.0"]

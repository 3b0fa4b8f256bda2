# IPFS node from npm: js-ipfs as deploy/dev-stack pins it (Kubo has no Debian or npm package). Entry point: an offline
# node (no bootstrap peers, no discovery) whose repo lives in /data/ipfs; `ipfs` on PATH runs the js-ipfs CLI, so
# `ipfs --api=/ip4/127.0.0.1/tcp/5001 id` answers as with Kubo. Ports: IPFS_API_ADDR (default 0.0.0.0:5001),
# IPFS_GATEWAY_ADDR (127.0.0.1:8080), IPFS_SWARM_ADDR (127.0.0.1:4001).
ARG NODE_IMAGE
FROM ${NODE_IMAGE}
COPY dev-stack/package.json dev-stack/package-lock.json /opt/js-ipfs/
RUN cd /opt/js-ipfs \
 && npm install --no-save --no-audit --no-fund --loglevel=error \
 && rm -rf node_modules/@foundry-rs /root/.npm \
 && groupadd --system --gid 10001 ipfs \
 && useradd --system --uid 10001 --gid ipfs --home-dir /data/ipfs --shell /usr/sbin/nologin ipfs \
 && mkdir -p /data/ipfs && chown ipfs:ipfs /data/ipfs
COPY --chmod=0755 ipfs-entrypoint.sh /usr/local/bin/ipfs-entrypoint
COPY --chmod=0755 ipfs-cli.sh /usr/local/bin/ipfs
ENV IPFS_PATH=/data/ipfs
USER 10001:10001
VOLUME ["/data/ipfs"]
EXPOSE 5001
ENTRYPOINT ["/usr/local/bin/ipfs-entrypoint"]

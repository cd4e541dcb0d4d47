# Fjord broker image: `docker build -t fjord .` then, for development on one machine,
#   docker run -p 127.0.0.1:9092:9092 -p 127.0.0.1:9080:9080 -v fjord-data:/data \
#     -e FJORD_ALLOW_UNAUTHENTICATED_NETWORK=on fjord
# The broker listens on every interface inside the container. Like every Fjord broker it refuses
# a PLAINTEXT listener there unless told the network is trusted (the opt-in above), so a published
# port is never an open broker by accident; on a real network give it SASL / TLS listeners with
# --config. See docs/operations.md.

# Build: TypeScript to dist/ (esbuild bundle of the CLI, plus the package's modules).
FROM node:20-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
COPY bin ./bin
RUN node scripts/build.mjs --no-types

# Run: production dependencies (their native parts are prebuilt packages for linux glibc), the
# bundle and the command; no compiler, no sources of the build.
FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /opt/fjord
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/dist ./dist
COPY bin ./bin
# A user of its own (node:20-slim's "node" user, uid 1000) owns the data volume.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 9092 9080
# Inside the container: listen on all interfaces. PLAINTEXT on a non-loopback address needs the
# explicit opt-in (FJORD_ALLOW_UNAUTHENTICATED_NETWORK=on at `docker run`; the broker refuses it
# otherwise, saying so in one line); put SASL/TLS listeners here for real networks.
ENV FJORD_DATA_DIR=/data \
    FJORD_HOST=0.0.0.0 \
    FJORD_HTTP_HOST=0.0.0.0 \
    FJORD_HTTP_PORT=9080 \
    FJORD_LOG_FORMAT=json
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD node -e "require('http').get('http://127.0.0.1:9080/health', (r) => process.exit(r.statusCode === 200 ? 0 : 1)).on('error', () => process.exit(1))"
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "--initial-old-space-size=256", "/opt/fjord/bin/fjord.js", "server"]

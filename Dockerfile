# syntax=docker/dockerfile:1
# Kaleyra callback router. Build: docker build -t kaleyra-callback-router .
# Run:   docker run -p 8080:8080 -e KAFKA_BROKERS=kafka:9092 \
#          -v "$PWD/routes.config.ts:/app/routes.config.ts:ro" -v kcr-data:/var/lib/kcr kaleyra-callback-router

# --- Production dependencies only (better-sqlite3 is native: build tools live in this stage) ---
FROM node:24-bookworm-slim AS deps
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# The workspace's manifest, so npm ci links node_modules/@kaleyra-callback-router/delivery-events
# to packages/delivery-events and installs its dependencies. Nothing is built: the router runs
# the package from its TypeScript source (tsconfig.json `paths`, followed by tsx).
COPY packages/delivery-events/package.json ./packages/delivery-events/
# npm ci's postinstall fixes kafkajs' read_committed filter (scripts/patch-kafkajs.mjs).
COPY scripts/patch-kafkajs.mjs ./scripts/
COPY scripts/kafkajs ./scripts/kafkajs
RUN npm ci --omit=dev --no-audit --no-fund

# --- Runtime: no compilers, no dev dependencies, not root ---
FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=8080 \
    DATA_DIR=/var/lib/kcr \
    ROUTES_CONFIG=/app/routes.config.ts
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
# The event contract (a workspace package; .dockerignore leaves out its tests and any dist/).
COPY packages ./packages
COPY src ./src
# The embedded example; replace it with a mount at /app/routes.config.ts (or set ROUTES_CONFIG).
COPY routes.config.ts ./
RUN mkdir -p /var/lib/kcr && chown node:node /var/lib/kcr
USER node
# The spool: accepted callbacks live here until every destination has them. Keep it on a volume.
VOLUME ["/var/lib/kcr"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Node receives SIGTERM directly (exec form): the router drains and flushes before exiting.
STOPSIGNAL SIGTERM
CMD ["node", "--import", "tsx", "src/server.ts"]

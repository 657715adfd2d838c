# syntax=docker/dockerfile:1
# Kaleyra callback router. Build: docker build -t kaleyra-callback-router .
# Run:   docker run -p 8080:8080 -e KAFKA_BROKERS=kafka:9092 \
#          -v "$PWD/routes.config.ts:/app/routes.config.ts:ro" -v kcr-data:/var/lib/kcr kaleyra-callback-router
# Or the whole demo (router, Kafka, a receiver): docker compose up --build
#
# The image runs compiled JavaScript (tsc, tsconfig.build.json). routes.config.ts stays
# TypeScript: the router loads that one file through tsx when it starts and on SIGHUP.
# Node 20: the major the test suite runs on.

# --- Build: all dependencies (better-sqlite3 is native: build tools live in this stage) ---
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# The workspace's manifest, so npm ci links node_modules/@kaleyra-callback-router/delivery-events
# to packages/delivery-events and installs its dependencies.
COPY packages/delivery-events/package.json ./packages/delivery-events/
# npm ci's postinstall fixes kafkajs' read_committed filter (scripts/patch-kafkajs.mjs).
COPY scripts/patch-kafkajs.mjs ./scripts/
COPY scripts/kafkajs ./scripts/kafkajs
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
# The event contract (a workspace package; .dockerignore leaves out its tests and any dist/).
COPY packages ./packages
COPY src ./src
# The event contract is built first: the router's build resolves it to its dist/.
RUN npm run build:events \
 && npx tsc -p tsconfig.build.json \
 && npm prune --omit=dev --no-audit --no-fund

# --- Runtime: no compilers, no dev dependencies, not root ---
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=8080 \
    DATA_DIR=/var/lib/kcr \
    ROUTES_CONFIG=/app/routes.config.ts
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/packages ./packages
# The compiled router where its sources were, so the config's `./src/route/define-routes.js`
# import finds it.
COPY --from=build /app/dist ./src
COPY package.json ./
# The embedded example; replace it with a mount at /app/routes.config.ts (or set ROUTES_CONFIG).
COPY routes.config.ts ./
RUN mkdir -p /var/lib/kcr && chown node:node /var/lib/kcr
USER node
# The spool: accepted callbacks live here until every destination has them. Keep it on a volume.
VOLUME ["/var/lib/kcr"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Node receives SIGTERM (drain and flush) and SIGHUP (reload routes.config.ts) directly (exec form).
STOPSIGNAL SIGTERM
CMD ["node", "--enable-source-maps", "src/server.js"]

# Pitstop worker + HTTP API. Multi-stage: build (TypeScript → dist/, workflows pre-bundled into
# dist/workflow-bundle.js, so the worker never runs webpack at start), production dependencies, and a small runtime
# image that runs as a non-root user.
#   docker build -t pitstop .
#   docker run --env-file pitstop.env -v ~/.kube/config:/etc/pitstop/kubeconfig:ro pitstop

# ---- build: compile and bundle the workflows ----
FROM node:20.19-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json && npx tsx src/worker/bundle.ts dist/workflow-bundle.js

# ---- deps: production dependencies only (the Temporal SDK's native core bridge comes prebuilt for glibc) ----
FROM node:20.19-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# ---- runtime ----
FROM node:20.19-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PITSTOP_WORKFLOW_BUNDLE=/app/dist/workflow-bundle.js \
    PITSTOP_API_ADDRESS=0.0.0.0:8080 \
    PITSTOP_METRICS_ADDRESS=0.0.0.0:9464
WORKDIR /app
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --chown=root:root package.json ./
# The image's `node` user (uid 1000); the Deployment also sets runAsNonRoot.
USER 1000:1000
EXPOSE 8080 9464
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9464/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM goes straight to node (no shell in between): graceful shutdown within PITSTOP_SHUTDOWN_GRACE.
CMD ["node", "dist/main.js"]

# syntax=docker/dockerfile:1
# One image per app of the Bun workspace, chosen when building (compose.yaml builds all six):
#   docker build --build-arg APP_DIR=services/course --build-arg APP_PORT=8002 -t coursework-lab/course .
#   docker build --build-arg APP_DIR=web-htmx --build-arg APP_PORT=3000 -t coursework-lab/web .
# APP_DIR is services/<name> or web-htmx; APP_PORT is its port in the contract (8001-8005, 3000).
ARG BUN_VERSION=1.4

# Production dependencies of the root package, shared/ and the one app. Only manifests are copied,
# so this stage is rebuilt only when a dependency changes. Bun installs a partial workspace from the
# full bun.lock (members absent from disk are skipped), so an app's image never holds the others'.
FROM oven/bun:${BUN_VERSION} AS deps
ARG APP_DIR
WORKDIR /app
RUN test -n "${APP_DIR}" || { echo "build with --build-arg APP_DIR=services/<name> (or web-htmx)" >&2; exit 1; }
COPY package.json bun.lock ./
COPY shared/package.json shared/
COPY ${APP_DIR}/package.json ${APP_DIR}/
RUN bun install --frozen-lockfile --production

# The tools image (`--target tools -t coursework-lab/tools`): the seed and Locust's input, run in a
# cluster as Jobs (deploy/k8s/jobs) rather than from the host through port-forwards. It holds every
# service's migrations (the seed migrates each database first), the seed's and Locust's scripts,
# locustfile.py and load/, which the Locust Job writes into the ConfigMaps the Locust pods mount.
# Production dependencies only: with every *_DATABASE_URL set the seed never loads the embedded
# PostgreSQL of `bun run start`. Defined before the app stage, which compose builds (the last).
FROM oven/bun:${BUN_VERSION} AS tools-deps
WORKDIR /app
COPY package.json bun.lock ./
COPY shared/package.json shared/
RUN bun install --frozen-lockfile --production

# On the full image it installed from (a one-off Job, not a server: the slim image's savings matter
# less than one stage fewer, and the app stage stays compose's last).
FROM tools-deps AS tools
ENV NODE_ENV=production
COPY tsconfig.json seed.ts locustfile.py ./
COPY shared/src shared/src
COPY services/identity/migrations services/identity/migrations
COPY services/course/migrations services/course/migrations
COPY services/enrollment/migrations services/enrollment/migrations
COPY services/payment/migrations services/payment/migrations
COPY services/notification/migrations services/notification/migrations
COPY scripts/lib scripts/lib
COPY scripts/seed scripts/seed
COPY scripts/experiments/run/locust-input.ts scripts/experiments/run/
COPY docker/locust-input.ts docker/
COPY load load
USER bun
CMD ["bun", "seed.ts", "--help"]

# The runtime: the slim image (no compilers, no curl), the app's source, the image's non-root user.
# The web app's Tailwind build scans only web-htmx and the UI kit in shared/src/ui: no service's
# source comes along.
FROM oven/bun:${BUN_VERSION}-slim AS app
ARG APP_DIR
ARG APP_PORT
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=${APP_PORT}
WORKDIR /app
COPY --from=deps /app ./
# Bun reads compiler options (the JSX runtime of the .tsx views) from the root tsconfig.json.
COPY tsconfig.json ./
COPY docker/entrypoint.sh docker/healthcheck.ts docker/
COPY shared/src shared/src
COPY ${APP_DIR} ${APP_DIR}
WORKDIR /app/${APP_DIR}
USER bun
EXPOSE ${APP_PORT}
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["bun", "/app/docker/healthcheck.ts"]
ENTRYPOINT ["/bin/sh", "/app/docker/entrypoint.sh"]
CMD ["bun", "src/index.ts"]

# syntax=docker/dockerfile:1
#
# One image for every abono process, running compiled JavaScript (npm run build: dist/, with the
# workflow bundle made at build time). The command picks which entry point runs:
#   docker run abono                                -> dist/src/api/main.js     (the HTTP API alone)
#   docker run abono --max-old-space-size=192 dist/src/worker/main.js  -> the Temporal worker alone
#   docker run abono dist/src/main.js               -> everything in one process (as `npm start`)
#   docker run abono dist/src/cli/main.js keys list
# The split entry points need DATABASE_URL and TEMPORAL_ADDRESS (see docker-compose.yml).
#
# Debian (glibc), not Alpine: the Temporal SDK's native core bridge ships glibc builds only.
ARG NODE_IMAGE=node:20-bookworm-slim

# --- production dependencies only ---
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --omit=dev --no-audit --no-fund

# --- build: type checks and compiles (tsc), then bundles the workflows once ---
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts ./scripts
RUN npm run build

# --- runtime ---
FROM ${NODE_IMAGE} AS runtime
# Container defaults: listen on every interface; dist/src/main.js keeps its embedded PostgreSQL
# and Temporal SQLite file (used only when DATABASE_URL / TEMPORAL_ADDRESS are unset) somewhere writable.
# MALLOC_ARENA_MAX=2: glibc's arenas bounded, as every worker starts (src/worker/memory.ts).
ENV NODE_ENV=production \
    MALLOC_ARENA_MAX=2 \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/home/node/.data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json package-lock.json ./
# Files stay root-owned and read-only to the app.
USER node
EXPOSE 3000
# node itself is the process that gets SIGTERM, so the entry points stop cleanly (the API
# closes, the worker drains its activities). Not npm: it would not pass SIGTERM on.
ENTRYPOINT ["node"]
CMD ["dist/src/api/main.js"]

# syntax=docker/dockerfile:1
#
# One image for every abono process; the command picks which entry point runs:
#   docker run abono                          -> src/api/main.ts     (the HTTP API alone)
#   docker run abono src/worker/main.ts       -> the Temporal worker alone
#   docker run abono src/main.ts              -> everything in one process (as `npm start`)
#   docker run abono src/cli/main.ts keys list
# The split entry points need DATABASE_URL and TEMPORAL_ADDRESS (see docker-compose.yml).
#
# Debian (glibc), not Alpine: the Temporal SDK's native core bridge ships glibc builds only.
ARG NODE_IMAGE=node:20-bookworm-slim

# --- production dependencies only (tsx is one: the app runs from its TypeScript sources) ---
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --omit=dev --no-audit --no-fund

# --- type check gate: the image is not built from code that does not typecheck ---
FROM ${NODE_IMAGE} AS check
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN node_modules/.bin/tsc --noEmit -p . && touch /app/.typechecked

# --- runtime ---
FROM ${NODE_IMAGE} AS runtime
# Container defaults: listen on every interface; src/main.ts keeps its embedded PostgreSQL and
# Temporal SQLite file (used only when DATABASE_URL / TEMPORAL_ADDRESS are unset) somewhere writable.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/home/node/.data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
# Makes the runtime stage depend on the check stage (BuildKit skips stages nothing uses).
COPY --from=check /app/.typechecked ./.typechecked
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
# Files stay root-owned and read-only to the app; tsx caches compiled files under /tmp.
USER node
EXPOSE 3000
# `node --import tsx <file>` is `npx tsx <file>` in one process: node itself gets SIGTERM and the
# entry points stop cleanly (the API closes, the worker drains its activities). Not npx: npm exec
# does not pass SIGTERM on, so the app would be killed without draining.
ENTRYPOINT ["node", "--import", "tsx"]
CMD ["src/api/main.ts"]

# Capstan: the Slack app (Bolt) and its BullMQ workers in one Node 20 process (`main.js start`).
# Build: docker build -t capstan .      Run: see docker-compose.yml.

# --- build: install every dependency, compile TypeScript, then drop the dev dependencies ----------
FROM node:20-slim AS build
WORKDIR /app
ENV npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
# Dependencies first, so this layer is reused until package*.json change.
COPY package.json package-lock.json ./
# Exactly the lock file's versions (it lists every platform's packages).
RUN npm ci --no-audit --no-fund
COPY . .
# The product only: the stand-ins (devkit/: sandbox, local mode) are not built into the image.
RUN npm run build:prod && npm prune --omit=dev && rm -rf devkit test bench

# --- runtime ------------------------------------------------------------------------------------
FROM node:20-slim
WORKDIR /app
ENV NODE_ENV=production \
    PORT=3000
COPY --from=build /app /app
# The official image's unprivileged user; Capstan needs no root inside the container.
USER node
EXPOSE 3000
# Compose overrides this with the same check; kept here for `docker run`. node:20-slim has no curl.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/src/main.js", "start"]

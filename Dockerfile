# syntax=docker/dockerfile:1
# Node 26, the current LTS; the code is also tested on Node 20 (see README).
# No Docker engine runs where this is developed: the build steps below are the
# README's (`npm ci`, `npm run build`), checked by hand, not this file itself.
# Build stage: compiles TypeScript (host and SDK workspace) and hnswlib-node's native addon (node-gyp).
FROM node:26-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
COPY sdk/package.json ./sdk/
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json VERSION ./
COPY sdk/tsconfig.json ./sdk/
COPY sdk/src ./sdk/src
COPY src ./src
RUN npm run build && npm prune --omit=dev

# Runtime stage: no compiler, no dev dependencies, not root.
FROM node:26-slim
# A fixed malloc mmap threshold: freed vector chunks go back to the OS (docs/OPERATIONS.md, "Memory").
ENV NODE_ENV=production \
    GLIBC_TUNABLES=glibc.malloc.mmap_threshold=262144 \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/sdk/package.json ./sdk/package.json
COPY --from=build /app/sdk/dist ./sdk/dist
COPY package.json VERSION ./
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# SIGTERM reaches node directly (exec form): the host drains and closes with 1001.
CMD ["node", "dist/main.js"]

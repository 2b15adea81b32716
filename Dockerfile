# glibc base image: the KurrentDB client's native bridge has no musl build for every platform.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY console ./console
RUN npm run build && node dist/cli/main.js console build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
# glibc keeps what each thread's arena freed: without a cap, the memory of image scalings grows
# with the threads that ever scaled (README, Textures).
ENV MALLOC_ARENA_MAX=2
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/console/dist ./console/dist
COPY --from=build /app/console/public ./console/public
COPY package.json ./
USER node
EXPOSE 4000
CMD ["node", "dist/cli/main.js", "serve"]

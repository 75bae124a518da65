# The teacher server as an image (docs/deploy.md):
#   docker build -t minnow-teacher .
#   docker run -p 7070:7070 -v $PWD/runs/teacher:/models:ro -v $PWD/secrets:/secrets/tokens:ro minnow-teacher
# ($PWD/secrets/tokens holds one token a line.)
# The CPU build; the CUDA variant is described in docs/deploy.md.

FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: onnxruntime-node's would fetch CUDA binaries; its CPU build ships in the package.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsup.config.ts ./
COPY src src
COPY teacher teacher
COPY student student
COPY runtime runtime
COPY pipeline pipeline
RUN npm run build && npm prune --omit=dev --ignore-scripts

FROM node:20-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
# Not root: the server needs no privilege (its port is above 1023).
USER node
EXPOSE 7070
# node is PID 1 and handles SIGTERM itself (drain, then exit 0); npx would not pass the signal on.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/cli.js", "teacher", "serve"]
CMD ["/models/model.onnx", "--host", "0.0.0.0", "--port", "7070", "--token-file", "/secrets/tokens/tokens"]

# The live dashboard (dashboard/server.mjs) on Node 20, Debian bookworm, as the
# unprivileged `node` user. It needs the repository's proto/ (loaded at run
# time) and a token for the identity it acts as (ANALYSIS_TOKEN_FILE).
#
#   docker build -f deploy/dashboard.Dockerfile -t goodbuy/analysis-dashboard .
FROM node:20-bookworm-slim
WORKDIR /app/dashboard
COPY dashboard/package.json dashboard/package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY dashboard/server.mjs ./
COPY dashboard/public public
COPY proto /app/proto
ENV DASHBOARD_LISTEN=0.0.0.0:8080
USER node
EXPOSE 8080
CMD ["node", "server.mjs"]

#!/usr/bin/env node
// The live dashboard: serves the page in public/ and relays it to the analysis server's gRPC
// API with @grpc/grpc-js. Calls become JSON over HTTP, and streams become server-sent events
// (EventSource in the browser), so a page follows sessions as they move without polling.
//
//   node dashboard/server.mjs            (npm ci --prefix dashboard first)
//
// Environment:
//   ANALYSIS_SERVER      the gRPC API, default 127.0.0.1:50051
//   ANALYSIS_TOKEN       the bearer token sent with every call, or
//   ANALYSIS_TOKEN_FILE  a file holding it. The page acts as that identity: a user token shows
//                        that tenant's sessions only (the server enforces it).
//   DASHBOARD_LISTEN     host:port to serve on, default 127.0.0.1:8080 (port 0: any; the
//                        line "dashboard on http://HOST:PORT/" says which)
//
// HTTP API (JSON, proto3 field names):
//   GET  /api/sessions                 ListSessions, newest first
//   POST /api/sessions                 CreateSession, body {"businessId", "sessionType"}
//   POST /api/sessions/ID/cancel       CancelSession
//   GET  /api/sessions/ID/events       WatchSession as server-sent events (one "message" per
//                                      SessionEvent; "end" with {code, message} when it ends)
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PROTO_DIR = path.resolve(HERE, '../proto');
const PUBLIC = path.join(HERE, 'public');
const STATIC = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/style.css': ['style.css', 'text/css; charset=utf-8'],
};

const definition = protoLoader.loadSync(['goodbuy/analysis/v1/analysis_service.proto'], {
  includeDirs: [PROTO_DIR],
  keepCase: false,
  enums: String,
  longs: Number,
  defaults: true,
  oneofs: true,
});
const { AnalysisService } = grpc.loadPackageDefinition(definition).goodbuy.analysis.v1;

const target = process.env.ANALYSIS_SERVER || '127.0.0.1:50051';
const token = (process.env.ANALYSIS_TOKEN ||
  (process.env.ANALYSIS_TOKEN_FILE ? readFileSync(process.env.ANALYSIS_TOKEN_FILE, 'utf8') : '')).trim();
const client = new AnalysisService(target, grpc.credentials.createInsecure(), {
  'grpc.keepalive_time_ms': 30000,
  'grpc.keepalive_permit_without_calls': 1,
});

function metadata() {
  const md = new grpc.Metadata();
  if (token) md.set('authorization', `Bearer ${token}`);
  return md;
}

// A gRPC error as the page shows it: the code's name and the server's message.
function errorBody(err) {
  const code = Object.keys(grpc.status).find((k) => grpc.status[k] === err.code) || 'UNKNOWN';
  return { code, message: err.details || err.message };
}

const HTTP_STATUS = {
  [grpc.status.INVALID_ARGUMENT]: 400, [grpc.status.FAILED_PRECONDITION]: 400,
  [grpc.status.UNAUTHENTICATED]: 401, [grpc.status.PERMISSION_DENIED]: 403,
  [grpc.status.NOT_FOUND]: 404, [grpc.status.ALREADY_EXISTS]: 409,
  [grpc.status.RESOURCE_EXHAUSTED]: 429, [grpc.status.UNAVAILABLE]: 503,
};

function sendJson(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

function unary(res, method, request) {
  client[method](request, metadata(), { deadline: Date.now() + 10000 }, (err, reply) => {
    if (err) sendJson(res, HTTP_STATUS[err.code] || 502, errorBody(err));
    else sendJson(res, 200, reply);
  });
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => {
      data += chunk;
      if (data.length > 64 * 1024) reject(new Error('body too large'));
    });
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}

// WatchSession relayed as server-sent events until the session ends or the page goes away.
function relayEvents(req, res, sessionId) {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
  });
  const call = client.WatchSession({ sessionId, afterSequence: 0 }, metadata());
  call.on('data', (event) => {
    if (event.payload === 'heartbeat') return;
    res.write(`data: ${JSON.stringify(event)}\n\n`);
  });
  call.on('error', (err) => {
    if (err.code === grpc.status.CANCELLED) return;
    res.write(`event: end\ndata: ${JSON.stringify(errorBody(err))}\n\n`);
    res.end();
  });
  call.on('end', () => {
    res.write(`event: end\ndata: ${JSON.stringify({ code: 'OK', message: '' })}\n\n`);
    res.end();
  });
  req.on('close', () => call.cancel());
}

async function handle(req, res) {
  const url = new URL(req.url, 'http://dashboard');
  const route = url.pathname;
  if (req.method === 'GET' && STATIC[route]) {
    const [file, type] = STATIC[route];
    res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
    res.end(readFileSync(path.join(PUBLIC, file)));
    return;
  }
  if (route === '/api/sessions' && req.method === 'GET') {
    unary(res, 'ListSessions', { pageSize: 50 });
    return;
  }
  if (route === '/api/sessions' && req.method === 'POST') {
    let body;
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      sendJson(res, 400, { code: 'INVALID_ARGUMENT', message: 'the body must be a JSON object' });
      return;
    }
    unary(res, 'CreateSession', {
      requestId: randomUUID(),
      businessId: String(body.businessId || ''),
      sessionType: String(body.sessionType || ''),
    });
    return;
  }
  const match = /^\/api\/sessions\/([0-9a-fA-F-]{36})\/(cancel|events)$/.exec(route);
  if (match && match[2] === 'cancel' && req.method === 'POST') {
    unary(res, 'CancelSession', { sessionId: match[1], reason: 'cancelled from the dashboard' });
    return;
  }
  if (match && match[2] === 'events' && req.method === 'GET') {
    relayEvents(req, res, match[1]);
    return;
  }
  sendJson(res, 404, { code: 'NOT_FOUND', message: `no route ${req.method} ${route}` });
}

const listen = process.env.DASHBOARD_LISTEN || '127.0.0.1:8080';
const colon = listen.lastIndexOf(':');
const server = http.createServer((req, res) => {
  handle(req, res).catch((err) => sendJson(res, 500, { code: 'INTERNAL', message: err.message }));
});
server.listen(Number(listen.slice(colon + 1)), listen.slice(0, colon), () => {
  const { address, port } = server.address();
  console.log(`dashboard on http://${address}:${port}/ (analysis server ${target})`);
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    server.close();
    client.close();
    process.exit(0);
  });
}

#!/usr/bin/env node
// watch-session.mjs: a minimal dashboard client for goodbuy.analysis.v1.AnalysisService.
//
// It shows how a Node.js dashboard (e.g. a Next.js API route or a worker feeding a websocket)
// follows an analysis session and survives a server restart or a switch to another replica.
//
//   node client/node/watch-session.mjs [--server HOST:PORT] [--json] [--token JWT]
//        [--tls-ca FILE] (--business ID --type health|valuation|forecast | --session ID [--after N])
//
//   --business/--type  create a session and stream it (RunSession)
//   --session          follow an existing session (WatchSession), after event N if --after is set
//   --server           default $ANALYSIS_SERVER, else 127.0.0.1:50051
//   --token            bearer token sent as "authorization: Bearer ..." with every call; default
//                      $ANALYSIS_TOKEN (the GoodBuy web app passes the signed-in user's JWT)
//   --tls-ca           connect with TLS, trusting this PEM CA bundle (--tls: the system's CAs)
//   --json             one JSON object per line and event (proto3 JSON field names, enum names,
//                      RFC 3339 times) instead of "seq status progress% stage [partial key]"
//
// Exit codes (the same as analysisctl): 0 the session completed, 1 it failed or was cancelled,
// 2 usage error, 3 RPC error, 130 interrupted (the session keeps running on the server).
//
// The .proto files are loaded at run time from ../../proto, so there is no code generation step;
// `npm ci` in client/node installs the two dependencies (@grpc/grpc-js, @grpc/proto-loader).

import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const EXIT_COMPLETED = 0;
const EXIT_SESSION_FAILED = 1;
const EXIT_USAGE = 2;
const EXIT_RPC_ERROR = 3;
const EXIT_INTERRUPTED = 130;

// Reconnects after UNAVAILABLE or RESOURCE_EXHAUSTED: up to MAX_RETRIES attempts in a row, waiting 250 ms, 500 ms,
// 1 s, 2 s, 4 s. The count starts again once an event arrives.
const MAX_RETRIES = 5;
const FIRST_BACKOFF_MS = 250;

// Keepalive within the server's policy (docs/streaming.md): ping every 30 s even while a watch
// waits for a queued session, never more often than the server's 20 s minimum.
const CHANNEL_OPTIONS = {
  'grpc.keepalive_time_ms': 30000,
  'grpc.keepalive_timeout_ms': 10000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.max_receive_message_length': 4 * 1024 * 1024,
};

// Worth resuming after a backoff: the server went away (UNAVAILABLE), or ended this watcher
// because it fell too far behind or had too many streams open (RESOURCE_EXHAUSTED).
const RESUMABLE = new Set([grpc.status.UNAVAILABLE, grpc.status.RESOURCE_EXHAUSTED]);

const SESSION_TYPES = {
  health: 'SESSION_TYPE_HEALTH_ANALYSIS',
  valuation: 'SESSION_TYPE_VALUATION',
  forecast: 'SESSION_TYPE_FORECAST',
};

const USAGE = `usage: node watch-session.mjs [--server HOST:PORT] [--json] [--token JWT] [--tls | --tls-ca FILE]
         (--business ID --type health|valuation|forecast | --session ID [--after N])`;

function usageError(message) {
  process.stderr.write(`error: ${message}\n${USAGE}\n`);
  process.exit(EXIT_USAGE);
}

// ---------------------------------------------------------------------------------------------
// Command line

function parseCommandLine() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        server: { type: 'string', default: process.env.ANALYSIS_SERVER || '127.0.0.1:50051' },
        json: { type: 'boolean', default: false },
        token: { type: 'string', default: process.env.ANALYSIS_TOKEN || '' },
        tls: { type: 'boolean', default: false },
        'tls-ca': { type: 'string' },
        business: { type: 'string' },
        type: { type: 'string' },
        session: { type: 'string' },
        after: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    usageError(err.message);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(EXIT_COMPLETED);
  }
  if ((values.business === undefined) === (values.session === undefined)) {
    usageError('give either --business (with --type) or --session');
  }
  if (values.business !== undefined) {
    if (!(values.type in SESSION_TYPES)) {
      usageError('--type must be health, valuation or forecast');
    }
    if (values.after !== undefined) usageError('--after goes with --session');
  } else {
    if (values.type !== undefined) usageError('--type goes with --business');
    if (values.after !== undefined && !/^\d+$/.test(values.after)) {
      usageError('--after must be a sequence number (0, 1, 2, ...)');
    }
  }
  return values;
}

// ---------------------------------------------------------------------------------------------
// Protos

// proto/ at the repository root. google/protobuf/*.proto (timestamp, any) are not there:
// proto-loader (protobufjs) ships the well-known types and resolves them by itself.
const PROTO_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../proto');

const packageDefinition = protoLoader.loadSync(
  [
    'goodbuy/analysis/v1/analysis_service.proto',
    // Not imported by the service, but needed to decode error details.
    'google/rpc/error_details.proto',
  ],
  {
    includeDirs: [PROTO_DIR],
    keepCase: false, // progress_percentage -> progressPercentage, as in proto3 JSON
    enums: String, // 'SESSION_STATUS_RUNNING' rather than 2
    longs: Number, // int64 sequences fit a JS number
    defaults: true, // fields at their zero value are present (progressPercentage: 0)
    oneofs: true, // event.payload names the oneof member that is set, e.g. 'partialResult'
  },
);
const proto = grpc.loadPackageDefinition(packageDefinition);
const { AnalysisService } = proto.goodbuy.analysis.v1;

// Message types, used directly to decode the binary error details below.
const RpcStatus = packageDefinition['google.rpc.Status'];
const BadRequest = packageDefinition['google.rpc.BadRequest'];
const BAD_REQUEST_TYPE_URL = 'type.googleapis.com/google.rpc.BadRequest';

// ---------------------------------------------------------------------------------------------
// Output

const TERMINAL_EXIT_CODES = {
  SESSION_STATUS_COMPLETED: EXIT_COMPLETED,
  SESSION_STATUS_FAILED: EXIT_SESSION_FAILED,
  SESSION_STATUS_CANCELLED: EXIT_SESSION_FAILED,
};

// "7 RUNNING 45% liquidity pillar/liquidity"
function formatEvent(event) {
  const status = event.status.replace(/^SESSION_STATUS_/, '');
  let line = `${event.sequence} ${status} ${event.progressPercentage}% ${event.stage || '-'}`;
  if (event.payload === 'partialResult') line += ` ${event.partialResult.key}`;
  if (event.payload === 'error') line += ` error: ${event.error.message}`;
  return line;
}

// The event as proto3 JSON would have it, near enough: camelCase names, enum names, and the
// google.protobuf.Timestamp as an RFC 3339 string (millisecond precision) instead of
// {seconds, nanos}. proto-loader adds `payload` (and `detail` in a partial result): the name of
// the oneof member that is set, handy for a dashboard's switch statement.
function toJson(event) {
  const { seconds, nanos } = event.eventTime ?? {};
  const eventTime =
    seconds === undefined ? undefined : new Date(seconds * 1000 + Math.floor(nanos / 1e6)).toISOString();
  return JSON.stringify({ ...event, eventTime });
}

// `watch-session.mjs --json | head` closes our stdout early: stop quietly, like other CLIs.
process.stdout.on('error', (err) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(EXIT_COMPLETED);
});

function printEvent(event, json) {
  process.stdout.write(`${json ? toJson(event) : formatEvent(event)}\n`);
}

// Prints an RPC error: its code and message, then the google.rpc.BadRequest field violations
// the server puts in the grpc-status-details-bin trailer (a serialized google.rpc.Status whose
// details are google.protobuf.Any messages).
function printRpcError(err) {
  const codeName = grpc.status[err.code] ?? String(err.code);
  process.stderr.write(`error: ${codeName}: ${err.details}\n`);
  const [detailsBin] = err.metadata?.get('grpc-status-details-bin') ?? [];
  if (!detailsBin) return;
  const status = RpcStatus.deserialize(detailsBin);
  for (const any of status.details) {
    // google.protobuf.Any comes from protobufjs's bundled well-known types, which keep the
    // proto field name (type_url) whatever keepCase says.
    if ((any.type_url ?? any.typeUrl) !== BAD_REQUEST_TYPE_URL) continue;
    for (const v of BadRequest.deserialize(any.value).fieldViolations) {
      process.stderr.write(`  field ${v.field}: ${v.description}\n`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Following a session

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Reads one stream to its end. Resolves with {terminal} (the terminal event), {ended} (the
// stream closed cleanly without one) or {error} (the stream failed). `onEvent` sees every
// event, duplicates included.
function readStream(call, onEvent) {
  return new Promise((resolve) => {
    let terminal = null;
    call.on('data', (event) => {
      onEvent(event);
      if (event.status in TERMINAL_EXIT_CODES) terminal = event;
    });
    call.on('error', (error) => resolve(terminal ? { terminal } : { error }));
    call.on('end', () => resolve(terminal ? { terminal } : { ended: true }));
  });
}

async function main() {
  const args = parseCommandLine();
  const tls = args.tls || args['tls-ca'] !== undefined;
  let credentials = grpc.credentials.createInsecure();
  if (tls) {
    let ca = null;
    try {
      ca = args['tls-ca'] === undefined ? null : readFileSync(args['tls-ca']);
    } catch (err) {
      usageError(`cannot read --tls-ca: ${err.message}`);
    }
    credentials = grpc.credentials.createSsl(ca);
  }
  const client = new AnalysisService(args.server, credentials, CHANNEL_OPTIONS);
  // The token goes with every call as metadata (call credentials would need TLS; a loopback
  // development server is plain-text).
  const metadata = new grpc.Metadata();
  if (args.token) metadata.set('authorization', `Bearer ${args.token}`);
  try {
    return await follow(args, client, metadata);
  } finally {
    client.close();
  }
}

// Streams the session (RunSession, or WatchSession with --session) until its terminal event,
// reconnecting on UNAVAILABLE and RESOURCE_EXHAUSTED; returns the exit code.
async function follow(args, client, metadata) {
  // What we know so far: the session (from --session or the first event of RunSession) and the
  // last sequence printed. Sequences are 1, 2, 3, ... per session, so "after lastSequence" is
  // exactly what a reconnecting watcher still needs.
  let sessionId = args.session ?? null;
  let lastSequence = Number(args.after ?? 0);

  // RunSession carries an idempotency key: if the connection drops before the first event, the
  // same RunSession is sent again and the server returns the session it already created.
  const runRequest = {
    session: {
      requestId: `watch-session-${randomUUID()}`,
      businessId: args.business,
      sessionType: SESSION_TYPES[args.type],
    },
  };

  let call = null;
  let retries = 0; // reconnection attempts since the last event
  process.on('SIGINT', () => {
    call?.cancel();
    process.stderr.write('interrupted; the session keeps running on the server\n');
    process.exit(EXIT_INTERRUPTED);
  });

  const onEvent = (event) => {
    sessionId ??= event.sessionId;
    // A resumed stream may repeat events we have printed already: skip them by sequence. A
    // heartbeat (sent on an idle stream so proxies keep it) repeats the last sequence: skipped too.
    if (event.sequence <= lastSequence) return;
    lastSequence = event.sequence;
    retries = 0;
    printEvent(event, args.json);
  };

  for (;;) {
    call = sessionId
      ? client.WatchSession({ sessionId, afterSequence: lastSequence }, metadata)
      : client.RunSession(runRequest, metadata);
    const outcome = await readStream(call, onEvent);

    if (outcome.terminal) {
      const code = TERMINAL_EXIT_CODES[outcome.terminal.status];
      if (code !== EXIT_COMPLETED && outcome.terminal.error) {
        process.stderr.write(`session ${outcome.terminal.status}: ${outcome.terminal.error.message}\n`);
      }
      return code;
    }
    // UNAVAILABLE (server restarting, shutting down, unreachable), RESOURCE_EXHAUSTED (this
    // watcher fell behind, or the server is at its stream cap) or a stream that ended without a
    // terminal event: try again, resuming after the last event seen. Anything else is final.
    if (outcome.error && !RESUMABLE.has(outcome.error.code)) {
      printRpcError(outcome.error);
      return EXIT_RPC_ERROR;
    }
    if (retries >= MAX_RETRIES) {
      if (outcome.error) printRpcError(outcome.error);
      process.stderr.write(`error: giving up after ${MAX_RETRIES} reconnection attempts\n`);
      return EXIT_RPC_ERROR;
    }
    const delay = FIRST_BACKOFF_MS * 2 ** retries;
    retries += 1;
    const why = outcome.error ? outcome.error.details : 'stream ended early';
    process.stderr.write(
      `reconnecting in ${delay} ms (${why}; attempt ${retries}/${MAX_RETRIES}, after sequence ${lastSequence})\n`,
    );
    await sleep(delay);
  }
}

// exitCode rather than process.exit(): the process ends once stdout is flushed (a pipe to jq
// or a file is written asynchronously on some platforms) and the closed channel lets go.
main().then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`error: ${err.stack ?? err}\n`);
    process.exitCode = EXIT_RPC_ERROR;
  },
);

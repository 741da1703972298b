// graphile-worker's no-op job throughput on a given PostgreSQL, for the
// comparison in docs/benchmarks.md (bench/graphile_worker/run.sh installs the
// package into a temporary folder and runs this).
//
// Usage: node noop_jobs.mjs DATABASE_URL JOBS CONCURRENCY
// Prints one line: "<jobs> jobs in <seconds> s = <jobs/s> jobs/s".
import { Logger, makeWorkerUtils, run, runMigrations } from "graphile-worker";

const [url, jobsArg = "20000", concurrencyArg = "24"] = process.argv.slice(2);
if (!url) {
  console.error("usage: node noop_jobs.mjs DATABASE_URL [JOBS] [CONCURRENCY]");
  process.exit(2);
}
const jobs = Number(jobsArg);
// Silent: its default logger writes a line per job, which would be measured.
const logger = new Logger(() => () => {});
const concurrency = Number(concurrencyArg);

await runMigrations({ connectionString: url, logger });
const utils = await makeWorkerUtils({ connectionString: url, logger });
const remaining = () =>
  utils.withPgClient(async (client) => {
    const { rows } = await client.query(
      "SELECT count(*)::int AS n FROM graphile_worker.jobs WHERE task_identifier = 'noop'");
    return rows[0].n;
  });
if ((await remaining()) !== 0) {
  console.error("graphile_worker.jobs already holds noop jobs; use a fresh database");
  process.exit(1);
}

// Enqueued before the clock starts, in batches of 1,000 (one statement each).
for (let added = 0; added < jobs; added += 1000) {
  const n = Math.min(1000, jobs - added);
  await utils.addJobs(Array.from({ length: n }, () => ({ identifier: "noop", payload: {} })));
}

const started = performance.now();
const runner = await run({
  connectionString: url,
  concurrency,
  noHandleSignals: true,
  logger,
  pollInterval: 1000,
  taskList: { noop: async () => {} },
  // The batched configuration: jobs fetched in batches into a local queue,
  // completions written in batches.
  preset: {
    worker: {
      localQueue: { size: concurrency + 1 },
      completeJobBatchDelay: 0,
      failJobBatchDelay: 0,
    },
  },
});
// Done when the table holds none of them (completions are committed).
while ((await remaining()) > 0) {
  await new Promise((resolve) => setTimeout(resolve, 20));
}
const seconds = (performance.now() - started) / 1000;
await runner.stop();
await utils.release();
console.log(`${jobs} jobs in ${seconds.toFixed(3)} s = ${(jobs / seconds).toFixed(1)} jobs/s`);

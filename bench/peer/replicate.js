// The CouchDB-protocol peer of bench/sync_bench.py: PouchDB replicating with pouchdb-server.
//
//   node bench/peer/replicate.js <server-url> <docs.jsonl> <work-folder>
//
// Loads the documents (one JSON object with an _id per line) into a local PouchDB on
// leveldb (not timed), replicates it to <server-url>/rounds (push, timed), then replicates
// that database into a fresh local PouchDB (initial pull, timed). PouchDB's defaults
// throughout (batch_size 100, batches_limit 10). Prints one JSON line.
"use strict";

const fs = require("fs");
const path = require("path");
const readline = require("readline");
const PouchDB = require("pouchdb");

async function load(db, file) {
  const lines = readline.createInterface({ input: fs.createReadStream(file) });
  let batch = [];
  let count = 0;
  for await (const line of lines) {
    if (!line) continue;
    batch.push(JSON.parse(line));
    if (batch.length === 1000) {
      count += (await db.bulkDocs(batch)).length;
      batch = [];
    }
  }
  if (batch.length) count += (await db.bulkDocs(batch)).length;
  return count;
}

async function timed(work) {
  const started = process.hrtime.bigint();
  const result = await work();
  return [Number(process.hrtime.bigint() - started) / 1e9, result];
}

async function main() {
  const [serverUrl, docsFile, folder] = process.argv.slice(2);
  const remote = `${serverUrl.replace(/\/$/, "")}/rounds`;
  const source = new PouchDB(path.join(folder, "push-source"));
  const loaded = await load(source, docsFile);

  const [pushSeconds, pushed] = await timed(() => source.replicate.to(remote));
  await source.close();

  const fresh = new PouchDB(path.join(folder, "fresh-device"));
  const [pullSeconds, pulled] = await timed(() => fresh.replicate.from(remote));
  const info = await fresh.info();
  await fresh.close();

  console.log(
    JSON.stringify({
      loaded,
      push_s: pushSeconds,
      pushed: pushed.docs_written,
      pull_s: pullSeconds,
      pulled: pulled.docs_written,
      doc_count: info.doc_count,
      client_peak_rss_mb: process.resourceUsage().maxRSS / 1024,
    }),
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

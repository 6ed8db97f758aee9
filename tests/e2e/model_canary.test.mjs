// A new encoder checkpoint reaches a running host the safe way: on a canary share of the
// questions (the new model embeds every cached question and matches its share while the serving
// model matches the rest), judged on live traffic against the serving model, then promoted (and
// made the active checkpoint) or dropped; every step is in the audit log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { aicacheExe, startUpstream, startHost, tempDir, post, chat, until } from './harness.mjs';

const semanticArgs = ['--encoder', 'encoder', '--threshold', 'threshold', '--semantic-score', 'cosine',
  '--threshold-config', JSON.stringify({ delta: 0.2, explore_rate: 0 })];
const cli = (dir, command, ...args) => execFileSync(aicacheExe, [command, '--data', dir, ...args], { encoding: 'utf8' });

// Labelled pairs to train a checkpoint on: each task asked two ways, and a neighbouring task.
function writePairs(file, tasks = 60) {
  const lines = [];
  for (let t = 0; t < tasks; ++t) {
    lines.push(JSON.stringify({ a: `how do I finish task ${t} quickly`, b: `what is the fastest way to finish task ${t}`, label: 1 }));
    lines.push(JSON.stringify({ a: `how do I finish task ${t} quickly`, b: `how do I start task ${t + 1} slowly`, label: 0 }));
  }
  writeFileSync(file, lines.join('\n') + '\n');
}

function trainCheckpoint(dir, pairs, seed) {
  const out = JSON.parse(cli(dir, 'learner', 'train', 'encoder', '--pairs', pairs, '--budget-seconds', '1', '--activate', 'never', '--scratch',
    '--config', JSON.stringify({ seed }), '--target-error', '0.5', '--json'));
  return out.checkpoint;
}


test('a checkpoint on canary matches a share of the questions and is promoted, or rolled back when it falls behind', async () => {
  const data = tempDir();
  const pairs = path.join(data.dir, 'pairs.jsonl');
  writePairs(pairs);
  const good = trainCheckpoint(data.dir, pairs, 2), bad = trainCheckpoint(data.dir, pairs, 3);
  const upstream = await startUpstream();
  let host;
  const status = () => JSON.parse(cli(data.dir, 'learner', 'canary', 'encoder', '--status'));
  try {
    host = await startHost({ data: data.dir, upstream: upstream.base, args: semanticArgs });
    for (let q = 0; q < 5; ++q) assert.equal((await post(host, 'chat/completions', chat(`cached question number ${q}`))).status, 200);
    // A margin of 100 points: whatever it serves, the canary passes its window and is promoted.
    // Latency is not judged here (--latency-ratio 0): on a busy machine the canary model's first
    // lookups can be slow enough to roll it back, and this test is about the share it serves.
    const started = JSON.parse(cli(data.dir, 'learner', 'canary', 'encoder', '--to', String(good), '--share', '0.5', '--window', '10', '--margin', '100',
      '--latency-ratio', '0'));
    assert.equal(started.checkpoint, good);
    assert.equal(started.reembedded, 5, 'the canary model embedded every cached question');
    let q = 0;
    const ask = async (n) => {
      for (let i = 0; i < n; ++i) assert.equal((await post(host, 'chat/completions', chat(`a new question about subject ${q++}`))).status, 200);
    };
    await ask(8);
    const during = status();
    assert.ok(during.canary, JSON.stringify(during));
    assert.ok(during.canary.canary_counts.lookups > 0 && during.canary.serving_counts.lookups > 0, 'both models matched some questions');
    assert.equal(during.canary.canary_counts.lookups + during.canary.serving_counts.lookups, 8, 'every exact miss was matched by one side');
    await ask(40);
    await until(() => /promoted/.test(status().last_event), 'the promotion', 15, () => status().last_event);
    const listed = JSON.parse(cli(data.dir, 'learner', 'list', 'encoder', '--json'));
    assert.ok(listed.find((c) => c.id === good).active, 'the promoted checkpoint is the active one');

    // A canary held to serving 101 points more than the serving model cannot: it is rolled back.
    cli(data.dir, 'learner', 'canary', 'encoder', '--to', String(bad), '--share', '0.5', '--window', '10', '--margin', '-101', '--latency-ratio', '0');
    await ask(40);
    await until(() => /rolled back|promoted/.test(status().last_event) && !status().canary, 'the verdict', 15, () => status().last_event);
    assert.match(status().last_event, /serves .* points less/);
    const after = JSON.parse(cli(data.dir, 'learner', 'list', 'encoder', '--json'));
    assert.ok(after.find((c) => c.id === good).active, 'the promoted checkpoint stays active');
    assert.ok(!after.find((c) => c.id === bad).active);

    const audit = cli(data.dir, 'audit', 'log');
    for (const action of ['model-canary', 'model-promote', 'model-rollback']) assert.match(audit, new RegExp(action));
  } finally {
    await host?.stop();
    await upstream.stop();
  }
});

test('a learning cycle trains the encoder on the matches the host judged and puts a checkpoint that holds up on canary', async () => {
  const data = tempDir();
  // What explorations and users' feedback left behind: the host appends every judged match here.
  writePairs(path.join(data.dir, 'learned-pairs.jsonl'), 400);
  const upstream = await startUpstream();
  let host;
  try {
    host = await startHost({ data: data.dir, upstream: upstream.base,
      args: [...semanticArgs, '--learn-every', '1', '--learn-encoder-seconds', '4', '--learn-encoder-min-pairs', '100'] });
    let cycle;
    await until(() => {
      const history = JSON.parse(cli(data.dir, 'learn', 'history', '--json'));
      cycle = history.find((c) => /judged matches/.test(c.opportunity) && c.decision !== 'running');
      return cycle !== undefined;
    }, 'an encoder cycle');
    assert.equal(cycle.decision, 'applied', JSON.stringify(cycle));
    assert.match(cycle.why, /held-out hits .* -> .* on canary/);
    const explained = cli(data.dir, 'learn', 'explain', String(cycle.cycle));
    assert.match(explained, /checkpoint #\d+ trained on \d+ judged pairs, measured on \d+ held out/);
    const status = JSON.parse(cli(data.dir, 'learner', 'canary', 'encoder', '--status'));
    assert.ok(status.canary || /promoted|rolled back/.test(status.last_event), JSON.stringify(status));
    const audit = cli(data.dir, 'audit', 'log');
    assert.match(audit, /model-canary/);
    assert.match(audit, /coordinator \(cycle/);
  } finally {
    await host?.stop();
    await upstream.stop();
  }
});

test('a trained checkpoint that finds the canary taken waits, and goes on canary once it is free, without training again', async () => {
  const data = tempDir();
  const upstream = await startUpstream();
  let host;
  try {
    host = await startHost({ data: data.dir, upstream: upstream.base,
      args: [...semanticArgs, '--learn-every', '1', '--learn-encoder-seconds', '2', '--learn-encoder-min-pairs', '100'] });
    // An operator's parameter change holds the one canary: with no traffic it is never judged.
    cli(data.dir, 'learn', 'apply', '--policy-parameters', '{"small_ratio": 0.05}', '--window', '100000');
    writePairs(path.join(data.dir, 'learned-pairs.jsonl'), 400);
    const encoderCycles = () => JSON.parse(cli(data.dir, 'learn', 'history', '--json')).filter((c) => /judged matches/.test(c.opportunity));
    let waiting;
    await until(() => {
      waiting = encoderCycles().find((c) => c.decision !== 'running');
      return waiting !== undefined;
    }, 'an encoder cycle');
    assert.equal(waiting.decision, 'recommend', JSON.stringify(waiting));
    const checkpoint = Number(/checkpoint #(\d+) waits for the canary/.exec(waiting.why)?.[1]);
    assert.ok(checkpoint > 0, waiting.why);
    assert.equal(JSON.parse(cli(data.dir, 'learner', 'canary', 'encoder', '--status')).canary, undefined, 'not on canary while the parameters hold it');

    cli(data.dir, 'learn', 'canary', '--rollback');
    let status;
    await until(() => {
      status = JSON.parse(cli(data.dir, 'learner', 'canary', 'encoder', '--status'));
      return status.canary !== undefined || /promoted|rolled back/.test(status.last_event ?? '');
    }, 'the waiting checkpoint on canary');
    assert.match(cli(data.dir, 'audit', 'log'), new RegExp(`model-canary.*"checkpoint":${checkpoint}[,}]`), 'the checkpoint trained before');
    assert.equal(encoderCycles().length, 1, 'the waiting checkpoint was not trained again');
  } finally {
    await host?.stop();
    await upstream.stop();
  }
});

// Paraphrases answered from the cache: the real host with the encoder and threshold learners,
// the fake upstream answering one text per topic. Unrelated questions in the same scope are
// explored (their fresh answers disagree with the cached one: wrong matches the threshold learner
// learns its bound from); a close paraphrase is then served as a semantic hit without calling
// upstream; the same follow-up in another conversation is never matched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startUpstream, startHost, tempDir, post, chat } from './harness.mjs';

const semanticArgs = ['--encoder', 'encoder', '--threshold', 'threshold', '--semantic-score', 'cosine',
  '--threshold-config', JSON.stringify({ delta: 0.2, explore_rate: 0 })];

test('a close paraphrase is a semantic hit once the threshold learner has a bound; other questions are explored', async () => {
  const data = tempDir();
  const upstream = await startUpstream();
  const host = await startHost({ data: data.dir, upstream: upstream.base, args: semanticArgs });
  try {
    const first = await post(host, 'chat/completions', chat('TOPIC=sort how do I sort a list of numbers in python'));
    assert.equal(first.headers.get('x-aicache'), 'miss');
    // Unrelated questions: each meets a cached neighbour, explores (cold or below the bound), and
    // its fresh answer disagrees with the cached one.
    const unrelated = ['how do I open a file in rust', 'what is the capital of france', 'how tall is mount everest',
      'which databases support json columns', 'how do I center a div with css', 'what does a mutex protect'];
    for (const q of unrelated) {
      const r = await post(host, 'chat/completions', chat(q));
      assert.equal(r.headers.get('x-aicache'), 'miss', q);
      assert.match(r.headers.get('x-aicache-semantic-decision') ?? '', /^explored/, q);
    }
    const callsBefore = (await upstream.calls()).calls;
    const paraphrase = await post(host, 'chat/completions', chat('TOPIC=sort how do I sort a list of numbers in python?'));
    assert.equal(paraphrase.headers.get('x-aicache'), 'semantic-hit',
      `decision: ${paraphrase.headers.get('x-aicache-semantic-decision')}, score ${paraphrase.headers.get('x-aicache-semantic-score')}\n${host.output()}`);
    assert.equal(paraphrase.headers.get('x-aicache-semantic-of'), first.headers.get('x-aicache-key'));
    assert.equal(paraphrase.json.choices[0].message.content, first.json.choices[0].message.content);
    assert.equal((await upstream.calls()).calls, callsBefore, 'a semantic hit makes no upstream call');

    // A follow-up is only a paraphrase of a follow-up in the same conversation.
    const followUp = (opening) => ({
      model: 'test-model', temperature: 0,
      messages: [{ role: 'user', content: opening }, { role: 'assistant', content: 'an answer' }, { role: 'user', content: 'and in reverse order?' }],
    });
    const inPython = await post(host, 'chat/completions', followUp('how do I sort a list in python'));
    assert.equal(inPython.headers.get('x-aicache'), 'miss');
    const inJava = await post(host, 'chat/completions', followUp('how do I sort an array in java'));
    assert.equal(inJava.headers.get('x-aicache'), 'miss');
    assert.equal(inJava.headers.get('x-aicache-semantic-of'), null, 'no candidate from another conversation');
  } finally {
    await host.stop(); // writes the index snapshot and the threshold learner's state
  }
  // After a restart the index and what the threshold learner learned come back: the paraphrase
  // (worded once more) is still served from the cache.
  const again = await startHost({ data: data.dir, upstream: upstream.base, args: semanticArgs });
  try {
    const r = await post(again, 'chat/completions', chat('TOPIC=sort how do I sort a list of numbers in python ?'));
    assert.equal(r.headers.get('x-aicache'), 'semantic-hit', again.output());
  } finally {
    await again.stop();
    upstream.stop();
    data.remove();
  }
});

// A client's verdict on an answer: a wrong semantic hit is told to the threshold learner (that
// entry is not served again at that similarity) and kept as a labelled pair for training; a wrong
// exact answer leaves the cache; malformed and unknown feedback is refused.
test('feedback on answers: a wrong semantic hit stops being served, a wrong exact answer is removed', async () => {
  const data = tempDir();
  const upstream = await startUpstream();
  const host = await startHost({ data: data.dir, upstream: upstream.base, args: semanticArgs });
  const feedback = (body) => post(host, 'aicache/feedback', body);
  try {
    await post(host, 'chat/completions', chat('TOPIC=sort how do I sort a list of numbers in python'));
    for (const q of ['how do I open a file in rust', 'what is the capital of france', 'how tall is mount everest',
      'which databases support json columns', 'how do I center a div with css', 'what does a mutex protect']) {
      await post(host, 'chat/completions', chat(q));
    }
    const hit = await post(host, 'chat/completions', chat('TOPIC=sort how do I sort a list of numbers in python?'));
    assert.equal(hit.headers.get('x-aicache'), 'semantic-hit', host.output());

    const wrong = await feedback({ key: hit.headers.get('x-aicache-key'), right: false });
    assert.equal(wrong.status, 200, wrong.text);
    assert.equal(wrong.json.answer, 'semantic-hit');
    assert.match(wrong.json.actions[0], /threshold learner told: wrong/);
    const again = await post(host, 'chat/completions', chat('TOPIC=sort how do I sort a list of numbers in python?'));
    assert.notEqual(again.headers.get('x-aicache'), 'semantic-hit', 'a match reported wrong is not served again at that similarity');
    assert.equal((await feedback({ key: hit.headers.get('x-aicache-key'), right: false })).status, 200,
      'the new answer under that key can be judged in turn');

    // Explorations and feedback became labelled pairs for `aicache learner train`.
    const pairs = readFileSync(path.join(data.dir, 'learned-pairs.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(pairs.length >= 7, `${pairs.length} learned pairs`);
    assert.ok(pairs.some((p) => p.label === 0 && p.b === 'TOPIC=sort how do I sort a list of numbers in python?'));

    // An exact answer reported wrong leaves the cache: the same request goes upstream again.
    const exact = await post(host, 'chat/completions', chat('what is the capital of france'));
    assert.equal(exact.headers.get('x-aicache'), 'hit');
    const removed = await feedback({ key: exact.headers.get('x-aicache-key'), right: false });
    assert.equal(removed.status, 200, removed.text);
    assert.ok(removed.json.actions.includes('removed from the cache'), removed.text);
    const calls = (await upstream.calls()).calls;
    const after = await post(host, 'chat/completions', chat('what is the capital of france'));
    assert.notEqual(after.headers.get('x-aicache'), 'hit');
    assert.equal((await upstream.calls()).calls, calls + 1);

    assert.equal((await feedback({ key: 'ffffffffffffffff', right: true })).status, 404);
    assert.equal((await feedback({ key: 'not hex', right: true })).status, 400);
    assert.equal((await feedback({ key: exact.headers.get('x-aicache-key') })).status, 400);
    assert.equal((await feedback('{')).status, 400);
  } finally {
    await host.stop();
    upstream.stop();
    data.remove();
  }
});

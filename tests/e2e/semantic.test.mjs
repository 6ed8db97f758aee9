// Paraphrases answered from the cache: the real host with the encoder and threshold learners,
// the fake upstream answering one text per topic. Unrelated questions in the same scope are
// explored (their fresh answers disagree with the cached one: wrong matches the threshold learner
// learns its bound from); a close paraphrase is then served as a semantic hit without calling
// upstream; the same follow-up in another conversation is never matched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
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

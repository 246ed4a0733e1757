// derive.js writes uci_sentences.jsonl, the evaluation dataset of the
// sentiment plugin, from the copy of the UCI Sentiment Labelled Sentences
// that the npm package `sentiment` ships as test fixtures.
//
//   npm install --no-save --prefix /tmp/uci sentiment@5.0.2
//   node plugins/sentiment/testdata/derive.js /tmp/uci/node_modules/sentiment \
//     > plugins/sentiment/testdata/uci_sentences.jsonl
//
// One JSON object per line, in the dataset format of `moderator eval`:
// {"id": "amazon-0001", "text": "...", "labels": ["negative"]}. UCI class 0
// (negative review sentence) becomes the label "negative"; class 1 (positive)
// becomes "sentiment.positive", this plugin's own label. The fixtures end
// with an empty {"text": "", "class": null} entry, which is dropped. Output
// is deterministic: sources in a fixed order, sentences in upstream order.
'use strict';

const fs = require('fs');
const path = require('path');

const pkg = process.argv[2];
if (!pkg) {
  process.stderr.write('usage: node derive.js PATH_TO/node_modules/sentiment\n');
  process.exit(2);
}
const version = JSON.parse(fs.readFileSync(path.join(pkg, 'package.json'), 'utf8')).version;
if (version !== '5.0.2') {
  process.stderr.write(`derive.js: expected sentiment 5.0.2, found ${version}\n`);
  process.exit(1);
}

const out = [];
for (const source of ['amazon', 'imdb', 'yelp']) {
  const rows = JSON.parse(fs.readFileSync(path.join(pkg, 'test', 'fixtures', source + '.json'), 'utf8'));
  let n = 0;
  for (const row of rows) {
    if (row.class === null && row.text === '') continue;
    if (row.class !== 0 && row.class !== 1) throw new Error(`${source}: unexpected class ${row.class}`);
    n++;
    const id = `${source}-${String(n).padStart(4, '0')}`;
    const labels = row.class === 0 ? ['negative'] : ['sentiment.positive'];
    out.push(JSON.stringify({id, text: row.text, labels}));
  }
  if (n !== 1000) throw new Error(`${source}: ${n} sentences, want 1000`);
}
process.stdout.write(out.join('\n') + '\n');

// check-source.mjs tells whether a candidate lexicon source carries the
// held-out list: how many of badwords-list's distinctive entries (those
// that none of the lexicon sources, cuss, swearjar and LDNOOBW, lists: its
// leetspeak, misspellings and coinages) appear in the candidate package's
// files as a quoted string or a line of their own. A source that carries
// them is a copy of the held-out list, or built from one, and is refused
// (see SOURCE.md, "Other sources checked"). Run it from a directory where
// the packages are installed:
//
//   npm install cuss@2.2.0 swearjar@0.2.0 naughty-words@1.2.0 badwords-list@1.0.0 CANDIDATE...
//   node /path/to/plugins/rules/lexicons/check-source.mjs CANDIDATE...
//
// It prints, per candidate, the count and the first entries found. A word
// it finds may sit in an allow list rather than a block list: read the
// hits before judging.
import fs from 'node:fs';
import path from 'node:path';
import {createRequire} from 'node:module';

const require = createRequire(path.join(process.cwd(), 'x.js'));
const {cuss} = await import(path.join(process.cwd(), 'node_modules/cuss/index.js'));
const swearjar = JSON.parse(fs.readFileSync('node_modules/swearjar/lib/config/en_US.json', 'utf8'));
const ld = JSON.parse(fs.readFileSync('node_modules/naughty-words/en.json', 'utf8'));
const badwords = require('badwords-list').array;

const sources = new Set([...Object.keys(cuss), ...Object.keys(swearjar), ...ld].map((t) => t.toLowerCase()));
const distinctive = badwords.map((t) => t.toLowerCase()).filter((t) => !sources.has(t));
console.log(`badwords-list: ${badwords.length} entries, ${distinctive.length} listed by no lexicon source`);

function files(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, {withFileTypes: true})) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'node_modules') out.push(...files(p));
    } else if (/\.(js|cjs|mjs|json|txt|ts)$/.test(e.name) && !/\.d\.c?ts$/.test(e.name)) {
      out.push(p);
    }
  }
  return out;
}

// unhex appends the text of every long hex string in s: some packages ship
// their word lists hex-encoded (bad-words-next's dd('7B22...')), out of a
// plain search's sight.
function unhex(s) {
  const decoded = [...s.matchAll(/["'`]((?:[0-9a-fA-F]{2}){32,})["'`]/g)].map((m) => Buffer.from(m[1], 'hex').toString('utf8'));
  return [s, ...decoded].join('\n');
}

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
for (const pkg of process.argv.slice(2)) {
  const dir = path.join('node_modules', pkg);
  const text = files(dir).map((f) => unhex(fs.readFileSync(f, 'utf8'))).join('\n').toLowerCase();
  const found = distinctive.filter((t) => new RegExp(`["'\`\\n]${escape(t)}["'\`\\r\\n]`).test(text));
  const version = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version;
  console.log(`${pkg}@${version}: ${found.length} of ${distinctive.length}${found.length ? ': ' + found.slice(0, 12).join(', ') : ''}`);
}

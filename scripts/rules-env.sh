#!/usr/bin/env bash
# Prints the path of the pySigma tool environment that validates and converts
# the Sigma rules in rules/ (make rules, the rules tests). The environment is a
# Python venv under .cache/, named after a hash of rules/requirements.txt: it is
# created on first use and reused until the pins change; environments of older
# pins are removed.
set -euo pipefail
cd "$(dirname "$0")/.."
key="$(sha256sum rules/requirements.txt | cut -c1-16)"
venv=".cache/rules-venv-$key"
if [ ! -f "$venv/.complete" ]; then
	rm -rf "$venv"
	mkdir -p .cache
	python3 -m venv "$venv" >&2
	"$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps -r rules/requirements.txt >&2
	touch "$venv/.complete"
fi
for old in .cache/rules-venv-*; do
	if [ "$old" != "$venv" ] && [ -d "$old" ]; then
		rm -rf "$old"
	fi
done
echo "$(pwd)/$venv"

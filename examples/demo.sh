#!/usr/bin/env bash
# An offline demo of the whole workflow, against the project's fake TheTVDB server (no network, no key).
#
#   examples/demo.sh            # from a checkout with the dev install: .venv/bin/pip install -e '.[test]'
#   PYTHON=/path/to/python examples/demo.sh
#
# It starts `python -m tests.fakes.serve --provider tvdb --demo` on a free port, uses a temporary
# database, adds the series in examples/series.csv (5 of the 10 are in the demo catalogue: watch the
# other 5 be recorded as not found), imports series, then episodes until none remain, and shows
# status, list and logs. The server and the temporary files are removed at the end.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [[ -z ${PYTHON:-} ]]; then
    if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/seriesdata-demo.XXXXXX")
server=""
cleanup() {
    if [[ -n $server ]]; then kill "$server" 2>/dev/null && wait "$server" 2>/dev/null; fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --port 0: the OS picks a free port; the server prints its base URL as its first line.
"$PYTHON" -m tests.fakes.serve --provider tvdb --demo --port 0 --api-key demo-key > "$work/url" &
server=$!
for _ in $(seq 100); do
    [[ -s $work/url ]] && break
    kill -0 "$server" 2>/dev/null || { echo "demo: the fake server did not start" >&2; exit 1; }
    sleep 0.1
done
url=$(head -n 1 "$work/url")
[[ $url == http* ]] || { echo "demo: the fake server did not start" >&2; exit 1; }

export SERIESDATA_DB="$work/demo.db" SERIESDATA_CONFIG="$work/none.toml"
export SERIESDATA_PROVIDER=tvdb SERIESDATA_TVDB_URL="$url" SERIESDATA_TVDB_API_KEY=demo-key
export SERIESDATA_TVDB_RATE_LIMIT=0  # the fake has no limit; the real API keeps the default
: > "$work/none.toml"
sd() { "$PYTHON" -m seriesdata "$@"; }
step() { printf '\n\033[1m$ seriesdata %s\033[0m\n' "$*" >&2; }
[[ -n ${NO_COLOR:-} || ! -t 2 ]] && step() { printf '\n$ seriesdata %s\n' "$*" >&2; }

echo "demo: fake TheTVDB at $url, database $SERIESDATA_DB" >&2
step add series --file examples/series.csv
sd add series --file examples/series.csv
step import-missing series
# Exit 1 is expected here: 5 ids are not in the demo catalogue (recorded as not found, retried in 7 days).
sd import-missing series || [[ $? == 1 ]]
step import-missing episodes --until-done
sd import-missing episodes --until-done
step status
sd status
step list series
sd list series
step list episodes --series 78878
sd list episodes --series 78878
step logs --limit 5
sd logs --limit 5
step status --json
sd status --json

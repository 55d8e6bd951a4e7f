#!/usr/bin/env bash
# Import everything that is missing, batch after batch, until nothing remains.
#
# It drives seriesdata the way any script should: --json for what happened, the exit code for how it
# went. One JSON object per run on stdout; this script reads "remaining" and "imported" from it.
#
#   examples/import-all.sh                  # series first, then episodes, 100 per batch
#   BATCH=500 DELAY=2 examples/import-all.sh episodes
#
# Environment: SERIESDATA (the command, default `seriesdata` from PATH, else this checkout's
# .venv/bin/seriesdata; e.g. "/opt/venv/bin/seriesdata" or
# "python3 -m seriesdata"), BATCH (items per run, default 100), DELAY (seconds between runs, default 0),
# MAX_BATCHES (safety stop, default 10000), JQ (path to jq; empty = use python3 instead), and the usual
# SERIESDATA_* settings (SERIESDATA_DB, SERIESDATA_TVDB_API_KEY, ...).
#
# Exit codes: 0 nothing left to import; 1 a run failed (details: `seriesdata logs --status failed`) or
# items keep failing; 2 bad usage; 75 another run of the job holds its lock (it is doing the work: try
# later); 130 interrupted (Ctrl-C / SIGTERM: the current run stops cleanly, what it wrote is kept).
set -uo pipefail

log() { printf '%s\n' "$*" >&2; }

if [[ -z ${SERIESDATA:-} ]] && ! command -v seriesdata > /dev/null; then
    venv_seriesdata="$(cd "$(dirname "$0")/.." && pwd)/.venv/bin/seriesdata"
    [[ -x $venv_seriesdata ]] && SERIESDATA=$venv_seriesdata
fi
read -r -a SD <<< "${SERIESDATA:-seriesdata}"
if ! command -v "${SD[0]}" > /dev/null; then
    log "import-all: cannot run ${SD[0]}: set SERIESDATA=/path/to/seriesdata (or activate its venv)"
    exit 2
fi
BATCH=${BATCH:-100}
DELAY=${DELAY:-0}
MAX_BATCHES=${MAX_BATCHES:-10000}
JQ=${JQ-$(command -v jq || true)}
PYTHON=${PYTHON:-python3}

# field NAME JSON: print one top-level field of a JSON object (jq if present, else python).
field() {
    if [[ -n "$JQ" ]]; then
        "$JQ" -r --arg k "$1" '.[$k] // empty' <<< "$2"
    else
        "$PYTHON" -c 'import json, sys; v = json.loads(sys.argv[2]).get(sys.argv[1]); print("" if v is None else v)' "$1" "$2"
    fi
}

# Ctrl-C reaches seriesdata too (same process group): it finishes the item in hand, closes its run row
# as failed and exits 130, which the loop below passes on.
trap 'log "import-all: interrupted"; exit 130' INT TERM

failures=0  # batches in which some item failed (they wait out a retry delay; the rest go on)

import_all() {
    local entity=$1 batch=0 out code remaining imported failed status reason
    while (( batch < MAX_BATCHES )); do
        batch=$((batch + 1))
        out=$("${SD[@]}" --json import-missing "$entity" --limit "$BATCH")
        code=$?
        case $code in
            0 | 1) ;;  # 1: some item failed, or the run was aborted: the JSON says which
            75) log "import-all: another $entity run holds the lock; it is doing the work, try later"; exit 75 ;;
            130) log "import-all: interrupted"; exit 130 ;;
            *) log "import-all: seriesdata exited $code"; exit "$code" ;;
        esac
        status=$(field status "$out")
        remaining=$(field remaining "$out")
        imported=$(field imported "$out")
        failed=$(field failed "$out")
        reason=$(field reason "$out")
        log "import-all: $entity batch $batch: $status, $imported imported, $failed failed, $remaining remaining"
        if [[ -n $reason ]]; then  # aborted (API key refused, provider unreachable): stop everything
            log "import-all: run aborted: $reason"
            exit 1
        fi
        (( failed > 0 )) && failures=$((failures + 1))
        [[ $remaining == 0 ]] && return 0
        if [[ $imported == 0 ]]; then  # nothing moves: do not spin
            log "import-all: nothing imported in this batch; see: seriesdata list $entity --failed"
            return 0
        fi
        sleep "$DELAY"
    done
    log "import-all: stopped after $MAX_BATCHES batches"
}

entities=("$@")
(( ${#entities[@]} )) || entities=(series episodes)
for entity in "${entities[@]}"; do
    case $entity in
        series | episodes) ;;
        *) log "usage: $0 [series] [episodes]"; exit 2 ;;
    esac
done
for entity in "${entities[@]}"; do
    import_all "$entity"
done
if (( failures )); then
    log "import-all: some items failed and wait out a retry delay: seriesdata logs --status failed"
    exit 1
fi
exit 0

#!/usr/bin/env bash
# Every shipped method under whole_video and subject_exclusive on the embedded synthetic dataset, into STORE:
# the runs whose stored rows must not change across a refactor.  Run it on the code before and after the change
# into two stores, then compare every row:
#
#   bash benchmarks/identity_runs.sh /tmp/before.sqlite          # on the old checkout
#   bash benchmarks/identity_runs.sh /tmp/after.sqlite           # on the new one
#   python benchmarks/compare_stores.py /tmp/before.sqlite /tmp/after.sqlite
#
#   bash benchmarks/identity_runs.sh /tmp/s.sqlite pos green     # only these methods
#
# The methods are the registry's (what `hrbench plugins` lists: built-ins and installed plugins).  Learned methods
# run with small budgets (fewer epochs and training maps; see budget()) so the whole script takes ~15 minutes on
# 2 idle cores once the traces are cached -- the comparison needs the same numbers twice, not good ones.  Each
# method runs in its own command, so one that fails is reported and the others still run; the script then
# exits non-zero.  PYTHON picks the interpreter (default: python); the cache is the usual one (--cache,
# HRBENCH_CACHE), which changes no stored number.
set -uo pipefail
STORE="${1:?usage: benchmarks/identity_runs.sh STORE [METHOD ...]}"
shift
PY="${PYTHON:-python}"
PROTOCOLS="${PROTOCOLS:-whole_video subject_exclusive}"

if [ "$#" -gt 0 ]; then
    METHODS=("$@")
else
    mapfile -t METHODS < <("$PY" -c 'from hrbench.plugin.host import get_registry; print("\n".join(sorted(get_registry().methods)))')
    [ "${#METHODS[@]}" -gt 0 ] || { echo "identity_runs: no method registered (is hrbench importable by $PY?)" >&2; exit 2; }
fi

# --param values that keep a learned method's training short; every method not named here runs as shipped.
budget() {
    case "$1" in
        stmap_transfer) echo "--param epochs=2 --param max_train_maps=150 --param synth_maps=300 --param synth_epochs=2" ;;
        stmap_*|rhythm_*) echo "--param epochs=2 --param max_train_maps=150" ;;
        svr) echo "--param max_train_clips=1000" ;;
        *) echo "" ;;
    esac
}

failed=()
for protocol in $PROTOCOLS; do
    for method in "${METHODS[@]}"; do
        # shellcheck disable=SC2046 # budget() is a list of words on purpose
        if ! "$PY" -m hrbench run --dataset synthetic --protocol "$protocol" --method "$method" $(budget "$method") \
                --store "$STORE" --quiet; then
            failed+=("$method ($protocol)")
        fi
    done
done
if [ "${#failed[@]}" -gt 0 ]; then
    echo "identity_runs: failed: ${failed[*]}" >&2
    exit 1
fi
echo "identity_runs: ${#METHODS[@]} method(s) x ($PROTOCOLS) stored in $STORE" >&2

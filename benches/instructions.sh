#!/usr/bin/env bash
# Instructions per call on the success path, counted by callgrind: the same count
# for the same binary whatever else the machine is doing, so differences of a few
# hundred instructions a call show, which wall-clock medians on a shared machine
# cannot resolve.
#
#   bash benches/instructions.sh          # needs valgrind
#   bash benches/instructions.sh decode   # a decode's instructions instead
#
# Each case makes 1,000 and then 3,000 calls (after opening its connections);
# the difference over 2,000 is the cost of one call, setup excluded. The server
# runs in the same process, so a call counts the work of both ends.
#
# With `decode`, each case of benches/decode.rs (`--calls CASE N`) decodes its
# body 1,000 and then 3,000 times, and the table gives the ratio to the floor.
set -euo pipefail
cd "$(dirname "$0")/.."

bench=success_path
[ "${1:-}" = decode ] && bench=decode
command -v valgrind >/dev/null || { echo "instructions.sh: valgrind is not installed" >&2; exit 1; }
bin=$(cargo bench --bench "$bench" --no-run 2>&1 |
    sed -n "s/.*Executable .*(\(.*$bench-[0-9a-f]*\)).*/\1/p")
[ -x "$bin" ] || { echo "instructions.sh: no bench binary found" >&2; exit 1; }

if [ "$bench" = decode ]; then
    echo "| case | instructions | ratio to the floor |"
    echo "| --- | ---: | ---: |"
    floor=
    for case in floor_serde_struct flat_pap5_0006 pap5_0001_encoded_1kib nested_error_object html_502; do
        calls() {
            valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" --calls "$case" "$1" 2>&1 |
                sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
        }
        n=$(( ($(calls 3000) - $(calls 1000)) / 2000 ))
        floor=${floor:-$n}
        awk -v c="$case" -v n="$n" -v f="$floor" 'BEGIN { printf "| %s | %d | %.3f |\n", c, n, n / f }'
    done
    exit
fi

count() { # case calls in_flight
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" --calls "$1" "$2" "$3" 2>&1 |
        sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

cases=(reqwest middleware_none noop_layer clone_and_forward error_middleware reqwest_retry)
for in_flight in 1 64; do
    echo
    echo "instructions per call, ${in_flight} in flight (callgrind)"
    echo
    echo "| case | instructions | ratio to reqwest | ratio to reqwest_retry |"
    echo "| --- | ---: | ---: | ---: |"
    declare -A per_call=()
    for case in "${cases[@]}"; do
        small=$(count "$case" 1024 "$in_flight")
        large=$(count "$case" 3072 "$in_flight")
        per_call[$case]=$(( (large - small) / 2048 ))
    done
    for case in "${cases[@]}"; do
        awk -v c="$case" -v n="${per_call[$case]}" -v b="${per_call[reqwest]}" \
            -v r="${per_call[reqwest_retry]}" \
            'BEGIN { printf "| %s | %d | %.3f | %.3f |\n", c, n, n / b, n / r }'
    done
    unset per_call
done

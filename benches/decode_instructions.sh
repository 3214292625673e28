#!/usr/bin/env bash
# Instructions per decode, counted by callgrind: `benches/decode.rs --calls CASE N`
# decodes one case N times; each case runs 1,000 and then 3,000 times and the
# difference over 2,000 is the cost of one call, setup excluded.
#
#   bash benches/decode_instructions.sh          # needs valgrind, about 20 s
set -euo pipefail
cd "$(dirname "$0")/.."

command -v valgrind >/dev/null || { echo "decode_instructions.sh: valgrind is not installed" >&2; exit 1; }
bin=$(cargo bench --bench decode --no-run 2>&1 |
    sed -n 's/.*Executable .*(\(.*decode-[0-9a-f]*\)).*/\1/p')
[ -x "$bin" ] || { echo "decode_instructions.sh: no bench binary found" >&2; exit 1; }

count() { # case calls
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" --calls "$1" "$2" 2>&1 |
        sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

cases=(floor_serde_struct flat_pap5_0006 pap5_0001_encoded_1kib nested_error_object html_502)
echo "| case | instructions | ratio to the floor |"
echo "| --- | ---: | ---: |"
floor=
for case in "${cases[@]}"; do
    small=$(count "$case" 1000)
    large=$(count "$case" 3000)
    n=$(( (large - small) / 2000 ))
    floor=${floor:-$n}
    awk -v c="$case" -v n="$n" -v f="$floor" 'BEGIN { printf "| %s | %d | %.3f |\n", c, n, n / f }'
done

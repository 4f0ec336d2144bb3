#!/usr/bin/env bash
# Builds and runs the blindnym fuzz targets. Installs cargo-fuzz if it is missing.
#
#   bash fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]
#
# Each target runs for SECONDS_PER_TARGET (default 20) on a scratch corpus seeded from the
# committed fuzz/corpus/<target>/ (which is never modified). Any crash fails the script; the
# crashing input is left under fuzz/artifacts/<target>/. A summary line per target reports
# executions per second and coverage (edges "cov", features "ft").
#
# The stable toolchain is used with `--sanitizer none`: the crate forbids unsafe code, so
# AddressSanitizer adds little; for ASan over the dependencies' unsafe code, run
# `cargo +nightly fuzz run TARGET` instead (see fuzz/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-20}
shift || true
all_targets=$(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^blindnym-fuzz$')
targets=${*:-$all_targets}

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz"
    cargo install cargo-fuzz --locked --version 0.13.2
fi

cargo +stable fuzz build --sanitizer none

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
status=0
for target in $targets; do
    mkdir -p "$scratch/$target" "fuzz/artifacts/$target"
    log="$scratch/$target.log"
    if cargo +stable fuzz run --sanitizer none "$target" "$scratch/$target" "fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 >"$log" 2>&1; then
        result=ok
    else
        result=CRASH
        status=1
        tail -n 60 "$log"
    fi
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 || true)
    echo "fuzz $target: $result ${seconds}s :: ${done_line:-no summary}"
done
exit $status

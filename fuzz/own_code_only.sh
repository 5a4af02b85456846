#!/usr/bin/env bash
# RUSTC_WRAPPER that keeps libFuzzer's coverage instrumentation for glassbox's own crate only.
#
# `cargo fuzz build` instruments every crate, so a target's `cov` also counts the edges of the
# libraries it feeds (for `card_parse`: the YAML scanner and deserializer, serde_json and the
# standard-library code they instantiate), whose state space keeps yielding edges long after
# glassbox's own code has stopped. Built through this wrapper, `cov` counts glassbox's edges
# alone: the question "does more fuzzing still reach new code of ours?".
#
# usage (from the package root; a separate target folder, as the flags differ):
#   RUSTC_WRAPPER=$PWD/fuzz/own_code_only.sh cargo +nightly fuzz build -O -s none \
#       --target-dir fuzz/target-own card_parse
# Crates kept instrumented: $GLASSBOX_FUZZ_OWN (space-separated crate names, default "glassbox").
rustc="$1"; shift
own=" ${GLASSBOX_FUZZ_OWN:-glassbox} "
crate=""; prev=""
for arg in "$@"; do
    [ "$prev" = "--crate-name" ] && crate="$arg"
    prev="$arg"
done
if [ -n "$crate" ] && [[ "$own" == *" $crate "* ]]; then
    exec "$rustc" "$@"
fi
args=()
for arg in "$@"; do
    case "$arg" in
        -Cpasses=sancov-module|-Cllvm-args=-sanitizer-coverage-*) ;;
        *) args+=("$arg") ;;
    esac
done
exec "$rustc" "${args[@]}"

#!/usr/bin/env bash
# stress.sh runs the tests of the main module as a busy CI machine would:
# with the race detector, 20 times each at GOMAXPROCS 1, 2 and 4, beside
# a CPU hog that keeps one core busy. A test that fails here even once is
# flaky: find its cause, in the product or in the test (never raise a
# timeout to hide it). It takes a while: about two hours on 2 cores.
#
#   ./stress.sh                      # everything
#   ./stress.sh -run TestLookups .   # extra go test arguments: a test, a package
#
# COUNT=5 ./stress.sh runs each test 5 times instead of 20.
set -euo pipefail
cd "$(dirname "$0")"

count=${COUNT:-20}
if [ $# -eq 0 ]; then
	set -- ./...
fi

# The CPU hog: one busy loop, bounded in time, ended with this script.
timeout 3h sh -c 'while :; do :; done' &
hog=$!
trap 'kill "$hog" 2>/dev/null || true' EXIT

go test -race -count="$count" -cpu 1,2,4 -timeout 3h "$@"

#!/usr/bin/env bash
# test.sh runs every check of the project, as CI does: gofmt, go vet and
# the race-enabled tests of each module, and every benchmark once so that
# none can rot. It runs all checks, then fails if any failed. Run it from
# anywhere; it needs Go. The interop tests skip the external clients that
# are not installed (.ci/run installs them).
set -euo pipefail
cd "$(dirname "$0")"

failed=()

# check NAME DIR COMMAND...: runs COMMAND in DIR, noting a failure.
check() {
	local name=$1 dir=$2
	shift 2
	printf '\n==> %s  [in %s]\n' "$name" "$dir"
	if ! (cd "$dir" && "$@"); then
		failed+=("$name [in $dir]")
	fi
}

gofmt_clean() {
	local out
	out=$(gofmt -l .)
	if [ -n "$out" ]; then
		printf 'these files are not gofmt-formatted:\n%s\n' "$out" >&2
		return 1
	fi
}

check "gofmt -l ." . gofmt_clean
check "go vet ./..." . go vet ./...
# -timeout catches a hung package: the root package and cmd/mocksmtp
# each take about 3 minutes under -race side by side on a 2-core CI
# machine (cmd/mocksmtp 130 s alone), so 5m, well short of CI's limit.
check "go test -race ./..." . go test -race -timeout 5m ./...
check "go test -run '^\$' -bench . -benchtime=1x ./... (every benchmark once)" . \
	go test -run '^$' -bench . -benchtime=1x -timeout 3m ./...

modules=(interop)
if [ -f bench/go.mod ]; then
	modules+=(bench)
fi
for m in "${modules[@]}"; do
	check "go vet ./..." "$m" go vet ./...
	check "go test -race ./..." "$m" go test -race -timeout 3m ./...
done

echo
if [ ${#failed[@]} -gt 0 ]; then
	printf '==> FAILED: %s\n' "${failed[@]}" >&2
	exit 1
fi
echo "==> all checks passed"

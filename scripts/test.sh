#!/usr/bin/env bash
# test.sh is crmsync's test command: the README's, CI's (.ci/run) and
# `make test`'s. Extra arguments go to `go test`, e.g.
#   scripts/test.sh -run TestMigrate
#
# It prepares the machine first (scripts/test-env.sh: Docker engine, Postgres
# image, testcontainers settings; each step skipped when done), unless
# CRMSYNC_TEST_DATABASE_URL points the tests at an existing server. Then it
# runs `go vet ./...` and `go test ./... -count=1 -timeout 40m`, removes any
# container a crashed test binary left behind, and prints a summary.
# CRMSYNC_TEST_PACKAGES (default ./...) narrows both to some packages.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
started=$(date +%s)
say() { printf 'test: %s\n' "$*" >&2; }

if [ -z "${CRMSYNC_TEST_DATABASE_URL:-}" ]; then
	say "preparing the test environment (scripts/test-env.sh)"
	# shellcheck source=scripts/test-env.sh
	if ! . scripts/test-env.sh; then
		say "FAILED: environment setup (see the messages above)"
		exit 1
	fi
else
	say "CRMSYNC_TEST_DATABASE_URL is set: using that server, no containers"
fi
setup_s=$(($(date +%s) - started))

# Containers started by this run carry this session label (internal/pgtest);
# whatever a crashed test binary left behind is removed on exit.
export CRMSYNC_TEST_SESSION="${CRMSYNC_TEST_SESSION:-$(date +%s)-$$}"
sweep() {
	[ -n "${CRMSYNC_TEST_DATABASE_URL:-}" ] && return
	command -v docker >/dev/null || return
	local left
	left=$(docker ps -aq --filter "label=org.crmsync.pgtest.session=$CRMSYNC_TEST_SESSION" 2>/dev/null) || return
	if [ -n "$left" ]; then
		say "removing containers left behind: $(echo "$left" | tr '\n' ' ')"
		# shellcheck disable=SC2086
		docker rm -f -v $left >/dev/null
	fi
}
trap sweep EXIT

log=$(mktemp "${TMPDIR:-/tmp}/crmsync-test.XXXXXX")
trap 'sweep; rm -f "$log"' EXIT

read -r -a pkgs <<<"${CRMSYNC_TEST_PACKAGES:-./...}"

say "go vet ${pkgs[*]}"
vet_started=$(date +%s)
go vet "${pkgs[@]}"
vet_rc=$?
vet_s=$(($(date +%s) - vet_started))

say "go test ${pkgs[*]} -count=1 -timeout 40m $*"
test_started=$(date +%s)
go test "${pkgs[@]}" -count=1 -timeout 40m "$@" 2>&1 | tee "$log"
test_rc=${PIPESTATUS[0]}
test_s=$(($(date +%s) - test_started))

ok=$(grep -c '^ok ' "$log")
failed=$(grep -cE '^FAIL\s' "$log")
notests=$(grep -c 'no test files' "$log")

echo
echo "==================== crmsync test summary ===================="
printf '  setup    %4ds\n' "$setup_s"
if [ "$vet_rc" = 0 ]; then
	printf '  go vet   %4ds  ok\n' "$vet_s"
else
	printf '  go vet   %4ds  FAILED (exit %d)\n' "$vet_s" "$vet_rc"
fi
if [ "$test_rc" = 0 ]; then
	printf '  go test  %4ds  ok: %d packages passed, %d without tests\n' "$test_s" "$ok" "$notests"
else
	printf '  go test  %4ds  FAILED (exit %d): %d passed, %d failed\n' "$test_s" "$test_rc" "$ok" "$failed"
	grep -E '^FAIL\s' "$log" | sed 's/^/    /'
fi
printf '  total    %4ds\n' "$(($(date +%s) - started))"
echo "=============================================================="

[ "$vet_rc" = 0 ] && [ "$test_rc" = 0 ]

#!/usr/bin/env bash
# test-env.sh prepares this machine for crmsync's Postgres-backed tests and
# writes the environment they need to an env file.
#
# Run it (scripts/test-env.sh) and then source the file it names, or source it
# directly (. scripts/test-env.sh) to get the variables in the current shell.
#
# What it does, each step skipped when already done or not needed:
#   1. No Docker engine answers: on Debian as root, install Debian's docker.io
#      and start dockerd in the background (log in the cache folder).
#   2. The default image (postgres:16-alpine) is neither present nor pullable:
#      build a local image from Debian's packages once (mmdebstrap ->
#      docker import -> docker build of scripts/pg-image) and point
#      CRMSYNC_TEST_POSTGRES_IMAGE at it.
#   3. testcontainers' reaper image is neither present nor pullable:
#      TESTCONTAINERS_RYUK_DISABLED=true (pgtest terminates its containers).
#   4. /.dockerenv exists but the engine runs on this machine:
#      TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1 (testcontainers would otherwise
#      dial the default gateway for mapped ports).
#   5. /usr/bin/chromium is missing (the browser test in e2e/ drives it): on
#      Debian as root, install Debian's chromium (and a font); elsewhere only
#      a warning, the browser test then fails saying what to install. Done
#      even when CRMSYNC_TEST_DATABASE_URL is set.
# On a machine where Docker and the registry already work it changes nothing
# and exports nothing. With CRMSYNC_TEST_DATABASE_URL set it does nothing.
#
# Settings (environment):
#   CRMSYNC_CACHE_DIR            cache folder (default ~/.cache/crmsync)
#   CRMSYNC_TEST_POSTGRES_IMAGE  image to use; kept when set
#   CRMSYNC_PG_MAJOR             Debian PostgreSQL major for the local image (15)

_crmsync_test_env_main() {
	set -euo pipefail

	local default_image="postgres:16-alpine"
	local reaper_image="testcontainers/ryuk:0.14.0" # testcontainers-go v0.45
	local pg_major="${CRMSYNC_PG_MAJOR:-15}"
	local local_image="crmsync/postgres:${pg_major}-debian"
	local base_image="crmsync/postgres-base:${pg_major}-debian"
	local script_dir
	script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
	local cache="${CRMSYNC_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/crmsync}"
	local env_file="$cache/test-env"
	mkdir -p "$cache"

	local -a exports=()
	local registry_ok=""

	log() { printf 'test-env: %s\n' "$*" >&2; }
	die() {
		printf 'test-env: error: %s\n' "$*" >&2
		exit 1
	}
	write_env() {
		local tmp="$env_file.tmp.$$"
		{
			echo "# Written by scripts/test-env.sh; source it before go test."
			local kv
			for kv in ${exports[@]+"${exports[@]}"}; do
				printf 'export %s=%q\n' "${kv%%=*}" "${kv#*=}"
			done
		} >"$tmp"
		mv "$tmp" "$env_file"
	}
	can_install() {
		[ "$(id -u)" = 0 ] && [ -f /etc/debian_version ] && command -v apt-get >/dev/null
	}
	apt_install() {
		local -a missing=()
		local p
		for p in "$@"; do
			dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
		done
		[ "${#missing[@]}" -eq 0 ] && return 0
		can_install || die "need ${missing[*]} but cannot install them (not Debian or not root)"
		export DEBIAN_FRONTEND=noninteractive
		log "installing ${missing[*]} from Debian's packages"
		if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >"$cache/apt.log" 2>&1; then
			log "install failed with the current package lists; running apt-get update"
			apt-get update -q >>"$cache/apt.log" 2>&1 || die "apt-get update failed; see $cache/apt.log"
			apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$cache/apt.log" 2>&1 ||
				die "apt-get install ${missing[*]} failed; see $cache/apt.log"
		fi
	}
	have_image() { docker image inspect "$1" >/dev/null 2>&1; }
	pull_image() {
		log "pulling $1"
		if timeout 120 docker pull -q "$1" >"$cache/pull.log" 2>&1; then
			registry_ok=yes
			return 0
		fi
		log "cannot pull $1: $(tail -n 1 "$cache/pull.log")"
		return 1
	}

	# 5. Chromium for the browser test (first: it does not depend on Docker).
	if [ -x /usr/bin/chromium ]; then
		log "chromium present (/usr/bin/chromium)"
	elif can_install; then
		apt_install chromium fonts-dejavu-core
		log "installed Debian's chromium for the browser test"
	else
		log "warning: /usr/bin/chromium is missing and cannot be installed here (not Debian or not root); the browser test (e2e) will fail"
	fi

	if [ -n "${CRMSYNC_TEST_DATABASE_URL:-}" ]; then
		log "CRMSYNC_TEST_DATABASE_URL is set: tests use that server, no Docker needed"
		write_env
		return 0
	fi

	# 1. Docker engine.
	if docker info >/dev/null 2>&1; then
		log "Docker engine answers"
	else
		[ -z "${DOCKER_HOST:-}" ] || die "DOCKER_HOST=$DOCKER_HOST does not answer"
		if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null; then
			can_install || die "no Docker engine answers; start one, or set CRMSYNC_TEST_DATABASE_URL"
			apt_install docker.io
		fi
		if pgrep -x dockerd >/dev/null; then
			log "dockerd is running; waiting for it to answer"
		else
			[ "$(id -u)" = 0 ] || die "no Docker engine answers and starting dockerd needs root"
			log "starting dockerd in the background (log: $cache/dockerd.log)"
			setsid nohup dockerd >>"$cache/dockerd.log" 2>&1 </dev/null &
		fi
		local i
		for i in $(seq 1 120); do
			if [ -S /var/run/docker.sock ] && docker info >/dev/null 2>&1; then
				break
			fi
			[ "$i" = 120 ] && die "dockerd did not answer within 60s; see $cache/dockerd.log"
			sleep 0.5
		done
		log "Docker engine answers"
	fi

	# 2. Postgres image.
	build_local_image() {
		apt_install mmdebstrap
		local suite work
		suite="$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")"
		work="$cache/pg-image-build"
		rm -rf "$work"
		mkdir -p "$work"
		# The machine's own apt sources as mirrors (mmdebstrap pastes a file
		# given as mirror into the chroot's sources); none: Debian's default.
		local -a mirrors=()
		local f
		for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
			[ -f "$f" ] && grep -qs '^[^#]*debian' "$f" && mirrors+=("$f")
		done
		log "building $local_image from Debian $suite's postgresql-$pg_major (once; about a minute)"
		log "  mmdebstrap -> $work/rootfs.tar (log: $cache/mmdebstrap.log)"
		mmdebstrap --variant=apt --include="postgresql-$pg_major" \
			--dpkgopt='path-exclude=/usr/share/doc/*' \
			--dpkgopt='path-exclude=/usr/share/man/*' \
			--dpkgopt='path-exclude=/usr/share/locale/*' \
			--customize-hook="rm -rf \"\$1/var/lib/postgresql/$pg_major\" \"\$1/etc/postgresql/$pg_major\" \"\$1/var/lib/apt/lists\"/*" \
			"$suite" "$work/rootfs.tar" ${mirrors[@]+"${mirrors[@]}"} >"$cache/mmdebstrap.log" 2>&1 ||
			die "mmdebstrap failed; see $cache/mmdebstrap.log"
		log "  docker import -> $base_image"
		docker import "$work/rootfs.tar" "$base_image" >/dev/null
		log "  docker build scripts/pg-image -> $local_image"
		DOCKER_BUILDKIT=0 docker build -q --build-arg "BASE=$base_image" --build-arg "PG_MAJOR=$pg_major" \
			-t "$local_image" "$script_dir/pg-image" >"$cache/docker-build.log" 2>&1 ||
			die "docker build failed; see $cache/docker-build.log"
		rm -rf "$work"
		log "built $local_image"
	}

	if [ -n "${CRMSYNC_TEST_POSTGRES_IMAGE:-}" ]; then
		local img="$CRMSYNC_TEST_POSTGRES_IMAGE"
		if have_image "$img"; then
			log "using $img (present)"
		elif [ "$img" = "$local_image" ]; then
			build_local_image
		else
			pull_image "$img" || die "CRMSYNC_TEST_POSTGRES_IMAGE=$img is neither present nor pullable"
		fi
		exports+=("CRMSYNC_TEST_POSTGRES_IMAGE=$img")
	elif have_image "$default_image"; then
		log "using $default_image (present)"
	elif have_image "$local_image"; then
		log "using $local_image (built earlier; $default_image is not present)"
		exports+=("CRMSYNC_TEST_POSTGRES_IMAGE=$local_image")
	elif pull_image "$default_image"; then
		log "using $default_image (pulled)"
	else
		build_local_image
		exports+=("CRMSYNC_TEST_POSTGRES_IMAGE=$local_image")
	fi

	# 3. testcontainers' reaper.
	if [ -n "${TESTCONTAINERS_RYUK_DISABLED:-}" ]; then
		exports+=("TESTCONTAINERS_RYUK_DISABLED=$TESTCONTAINERS_RYUK_DISABLED")
	elif have_image "$reaper_image" || [ -n "$registry_ok" ] || pull_image "$reaper_image"; then
		log "reaper image $reaper_image available"
	else
		log "no reaper image: TESTCONTAINERS_RYUK_DISABLED=true (pgtest terminates its containers itself)"
		exports+=("TESTCONTAINERS_RYUK_DISABLED=true")
	fi

	# 4. /.dockerenv with an engine on this machine.
	if [ -n "${TESTCONTAINERS_HOST_OVERRIDE:-}" ]; then
		exports+=("TESTCONTAINERS_HOST_OVERRIDE=$TESTCONTAINERS_HOST_OVERRIDE")
	elif [ -f /.dockerenv ] && { pgrep -x dockerd >/dev/null ||
		[ "$(docker info --format '{{.Name}}' 2>/dev/null)" = "$(hostname)" ]; }; then
		log "/.dockerenv present but the engine runs here: TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1"
		exports+=("TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1")
	fi

	write_env
	if [ "${#exports[@]}" -eq 0 ]; then
		log "nothing to set; environment file: $env_file"
	else
		log "environment file: $env_file"
		local kv
		for kv in "${exports[@]}"; do log "  $kv"; done
	fi
	printf '%s\n' "$env_file"
}

if [ "${BASH_SOURCE[0]}" != "$0" ]; then
	# Sourced: run the setup, then load the file it wrote.
	# The command substitution is a subshell: strict mode and helpers stay there.
	_crmsync_test_env_file="$(_crmsync_test_env_main "$@")" && . "$_crmsync_test_env_file"
	_crmsync_test_env_rc=$?
	unset -f _crmsync_test_env_main
	unset _crmsync_test_env_file
	return "$_crmsync_test_env_rc" 2>/dev/null || true
else
	_crmsync_test_env_main "$@"
fi

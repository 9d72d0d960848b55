package embeddedpg

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
)

// searchGlobs are the usual install locations, in order of preference after
// PATH. Within one glob the highest version wins.
var searchGlobs = []string{
	"/usr/lib/postgresql/*/bin",          // Debian, Ubuntu
	"/usr/pgsql-*/bin",                   // RHEL, Fedora (PGDG)
	"/opt/homebrew/opt/postgresql@*/bin", // Homebrew, Apple silicon
	"/usr/local/opt/postgresql@*/bin",    // Homebrew, Intel
	"/opt/homebrew/opt/postgresql/bin",   // Homebrew, unversioned formula
	"/usr/local/opt/postgresql/bin",      // Homebrew, unversioned formula
	"/usr/local/pgsql/bin",               // built from source
	"/Applications/Postgres.app/Contents/Versions/latest/bin",
}

// Find returns the directory holding the PostgreSQL server binaries initdb and
// postgres: first the directory of initdb found on PATH (symlinks resolved),
// then the usual install locations (Debian's /usr/lib/postgresql/*/bin with
// the highest version first, Homebrew's postgresql@* kegs, /usr/local/pgsql/bin).
func Find() (binDir string, err error) {
	return find(os.Getenv("PATH"), searchGlobs)
}

func find(pathEnv string, globs []string) (string, error) {
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" {
			continue
		}
		initdb := filepath.Join(dir, exeName("initdb"))
		if !isExecutable(initdb) {
			continue
		}
		if real, err := filepath.EvalSymlinks(initdb); err == nil {
			if d := filepath.Dir(real); hasServerBinaries(d) {
				return d, nil
			}
		}
		if hasServerBinaries(dir) {
			return dir, nil
		}
	}
	for _, g := range globs {
		matches, _ := filepath.Glob(g)
		sortByVersionDesc(matches)
		for _, d := range matches {
			if hasServerBinaries(d) {
				return d, nil
			}
		}
	}
	return "", errors.New("initdb and postgres not found on PATH nor in " + strings.Join(globs, ", "))
}

func exeName(name string) string {
	if runtime.GOOS == "windows" {
		return name + ".exe"
	}
	return name
}

func hasServerBinaries(dir string) bool {
	return isExecutable(filepath.Join(dir, exeName("initdb"))) &&
		isExecutable(filepath.Join(dir, exeName("postgres")))
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	if err != nil || fi.IsDir() {
		return false
	}
	if runtime.GOOS == "windows" {
		return true
	}
	return fi.Mode().Perm()&0o111 != 0
}

// sortByVersionDesc orders install directories by the first version number in
// their path, highest first ("…/16/bin" before "…/9.6/bin" before "…/bin").
func sortByVersionDesc(dirs []string) {
	sort.SliceStable(dirs, func(i, j int) bool {
		return compareVersions(pathVersion(dirs[i]), pathVersion(dirs[j])) > 0
	})
}

// pathVersion extracts the numeric components of the first path element that
// starts with a version ("15", "postgresql@16", "pgsql-14", "9.6").
func pathVersion(p string) []int {
	for _, elem := range strings.Split(filepath.ToSlash(p), "/") {
		if i := strings.LastIndexAny(elem, "@-"); i >= 0 {
			elem = elem[i+1:]
		}
		var nums []int
		for _, part := range strings.Split(elem, ".") {
			n, err := strconv.Atoi(part)
			if err != nil {
				nums = nil
				break
			}
			nums = append(nums, n)
		}
		if len(nums) > 0 {
			return nums
		}
	}
	return nil
}

func compareVersions(a, b []int) int {
	for i := 0; i < len(a) || i < len(b); i++ {
		var x, y int
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			if x > y {
				return 1
			}
			return -1
		}
	}
	return len(a) - len(b)
}

// installHint says exactly what to install on this system.
func installHint(dockerAllowed bool) string {
	var pkg string
	switch runtime.GOOS {
	case "darwin":
		pkg = "install PostgreSQL with `brew install postgresql@16`"
	case "linux":
		switch {
		case fileExists("/etc/debian_version"):
			pkg = "install PostgreSQL with `sudo apt-get install postgresql`"
		case fileExists("/etc/alpine-release"):
			pkg = "install PostgreSQL with `apk add postgresql`"
		case fileExists("/etc/fedora-release"), fileExists("/etc/redhat-release"):
			pkg = "install PostgreSQL with `sudo dnf install postgresql-server`"
		case fileExists("/etc/arch-release"):
			pkg = "install PostgreSQL with `sudo pacman -S postgresql`"
		default:
			pkg = "install the PostgreSQL server package of your distribution (on Debian/Ubuntu: `sudo apt-get install postgresql`)"
		}
	default:
		pkg = "install PostgreSQL from https://www.postgresql.org/download/ and put its bin directory on PATH"
	}
	msg := "initdb and postgres were not found on PATH or in the usual install locations; " + pkg
	if dockerAllowed {
		msg += ", or start Docker (no Docker engine answered)"
	} else {
		msg += " (the Docker fallback is disabled)"
	}
	_, lookErr := exec.LookPath("psql")
	if lookErr == nil && runtime.GOOS == "linux" && fileExists("/etc/debian_version") {
		msg += "; note that psql alone (package postgresql-client) is not enough"
	}
	return msg
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

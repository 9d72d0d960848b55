//go:build unix

package pgtest

import "syscall"

// detachedProcAttr puts the watchdog in its own process group, so that the
// terminal's Ctrl-C reaches the test process but not the watchdog.
func detachedProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

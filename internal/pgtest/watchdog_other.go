//go:build !unix

package pgtest

import "syscall"

// detachedProcAttr returns nil where process groups are not available.
func detachedProcAttr() *syscall.SysProcAttr { return nil }

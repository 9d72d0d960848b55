//go:build !linux

package simulate

import "syscall"

// childAttr has no parent-death signal outside Linux: a simulator process
// dies with the context given to StartProcess or with Close.
func childAttr() *syscall.SysProcAttr { return nil }

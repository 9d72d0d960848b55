//go:build unix && !linux

package embeddedpg

import "syscall"

// setPdeathsig does nothing: only Linux has a parent-death signal. A server
// orphaned by a killed crmsync is cleaned up by the next Start once it exits.
func setPdeathsig(*syscall.SysProcAttr) {}

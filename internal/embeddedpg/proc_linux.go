//go:build linux

package embeddedpg

import "syscall"

// setPdeathsig makes the kernel kill the server if crmsync dies without
// stopping it. Go sets it after switching credentials, so it survives the
// switch to the postgres user.
func setPdeathsig(attr *syscall.SysProcAttr) { attr.Pdeathsig = syscall.SIGKILL }

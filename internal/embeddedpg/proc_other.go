//go:build !unix

package embeddedpg

import (
	"os"
	"syscall"
)

type runAs struct {
	name     string
	uid, gid uint32
}

func serverUser() (*runAs, error) { return nil, nil }

func (r *runAs) chown(string) error { return nil }

func (r *runAs) sysProcAttr() *syscall.SysProcAttr { return nil }

// processAlive cannot tell on this system; report alive so that nothing in use
// is removed.
func processAlive(int) bool { return true }

// interrupt has no SIGINT to send here; kill instead.
func interrupt(p *os.Process) error { return p.Kill() }

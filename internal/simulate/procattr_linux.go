package simulate

import "syscall"

// childAttr makes a simulator process die with this one: SIGKILL when its
// parent (the thread that started it, kept alive by StartProcess) ends.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

package procstat

import (
	"os"
	"os/exec"
	"runtime"
	"testing"
)

func TestPeakRSS(t *testing.T) {
	t.Parallel()
	if PeakRSS() <= 0 {
		t.Fatal("PeakRSS of this process is not positive")
	}
	if runtime.GOOS != "linux" {
		t.Skip("/proc only on Linux")
	}
	if got := PeakRSSOf(os.Getpid()); got <= 0 {
		t.Fatalf("PeakRSSOf(self) = %d", got)
	}
	if got := PeakRSSOf(-1); got != 0 {
		t.Fatalf("PeakRSSOf(-1) = %d", got)
	}
}

func TestDescendants(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("/proc only on Linux")
	}
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Skipf("no sleep: %v", err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	for _, p := range Descendants(os.Getpid()) {
		if p.PID == cmd.Process.Pid {
			if p.PPID != os.Getpid() || p.Comm != "sleep" {
				t.Fatalf("child read as %+v", p)
			}
			return
		}
	}
	t.Fatalf("child %d not among the descendants", cmd.Process.Pid)
}

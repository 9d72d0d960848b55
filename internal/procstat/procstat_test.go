package procstat

import (
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"
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

// The machine's CPU times move forward and busy never exceeds total.
func TestCPUTimes(t *testing.T) {
	b1, t1, ok := CPUTimes()
	if runtime.GOOS != "linux" {
		if ok {
			t.Fatal("CPU times read without /proc")
		}
		return
	}
	deadline := time.Now().Add(50 * time.Millisecond)
	for time.Now().Before(deadline) {
	}
	b2, t2, ok := CPUTimes()
	if !ok || b1 > t1 || b2 > t2 || t2 < t1 || b2 < b1 || t2 == t1 {
		t.Fatalf("busy %d of %d, then %d of %d", b1, t1, b2, t2)
	}
}

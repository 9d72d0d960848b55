// Package procstat reads processes' peak resident set sizes: this
// process's, another's by pid, and those of a process's descendants, from
// /proc on Linux (getrusage for this process elsewhere).
package procstat

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// PeakRSS returns this process's peak resident set size in bytes: VmHWM
// from /proc/self/status on Linux, else getrusage's ru_maxrss.
func PeakRSS() int64 {
	if n := vmHWM("/proc/self/status"); n > 0 {
		return n
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	// Linux reports kilobytes (macOS bytes, but macOS has no /proc and
	// this build is for the Linux bench machine first).
	return int64(ru.Maxrss) * 1024
}

// PeakRSSOf returns the peak resident set size of process pid in bytes
// (VmHWM), 0 when it cannot be read (no /proc, no such process, a kernel
// thread).
func PeakRSSOf(pid int) int64 {
	return vmHWM(filepath.Join("/proc", strconv.Itoa(pid), "status"))
}

// Process is one process of a tree.
type Process struct {
	PID  int
	PPID int
	// Comm is the process's command name (at most 15 bytes).
	Comm string
}

// Descendants lists the live descendants of process pid (children,
// grandchildren…), read from /proc/*/stat; nil where there is no /proc.
func Descendants(pid int) []Process {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]Process{}
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		proc, ok := readStat(p)
		if ok {
			children[proc.PPID] = append(children[proc.PPID], proc)
		}
	}
	var out []Process
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c.PID)
		}
	}
	return out
}

// readStat reads the pid, parent pid and command name of /proc/pid/stat:
// "pid (comm) state ppid …", where comm may hold spaces and parentheses.
func readStat(pid int) (Process, bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return Process{}, false
	}
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return Process{}, false
	}
	fields := strings.Fields(string(b[end+1:]))
	if len(fields) < 2 {
		return Process{}, false
	}
	ppid, err := strconv.Atoi(fields[1])
	if err != nil {
		return Process{}, false
	}
	return Process{PID: pid, PPID: ppid, Comm: string(b[open+1 : end])}, true
}

// vmHWM reads the VmHWM line of a /proc status file, in bytes (0 when
// absent).
func vmHWM(path string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "VmHWM:") {
			continue
		}
		fields := strings.Fields(strings.TrimPrefix(line, "VmHWM:"))
		if len(fields) == 0 {
			return 0
		}
		n, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return 0
		}
		if len(fields) > 1 && strings.EqualFold(fields[1], "kB") {
			n *= 1024
		}
		return n
	}
	return 0
}

// CPUTimes returns the machine's busy and total CPU time so far, in clock
// ticks, from the first line of /proc/stat; ok is false where there is no
// /proc. The busy share of an interval is the difference of busy over the
// difference of total.
func CPUTimes() (busy, total uint64, ok bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, false
	}
	line, _, _ := bytes.Cut(b, []byte{'\n'})
	fields := strings.Fields(string(line))
	if len(fields) < 5 || fields[0] != "cpu" {
		return 0, 0, false
	}
	var idle uint64
	for i, f := range fields[1:] {
		n, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return 0, 0, false
		}
		// user nice system idle iowait irq softirq steal guest guest_nice:
		// guest time is counted in user time already.
		if i >= 8 {
			break
		}
		total += n
		if i == 3 || i == 4 {
			idle += n
		}
	}
	return total - idle, total, true
}

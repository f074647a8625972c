package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// What each section records about the run that produced it: the command,
// the membership/ commit, parallelism, load, CPU time and peak memory.

// atATime says how many simulations ran in parallel.
func atATime(jobs int) string {
	if jobs == 1 {
		return "one simulation at a time"
	}
	return fmt.Sprintf("up to %d simulations at a time", jobs)
}

// membershipCommit names the last commit that touched membership/'s code
// (and says so if the working tree differs from it), for the record.
func membershipCommit() string {
	// Tests do not change behaviour: the last commit to the package's code.
	out, err := exec.Command("git", "log", "-1", "--format=%h (%ad)", "--date=format:%Y-%m-%d %H:%M", "--", "membership/", ":!membership/*_test.go").Output()
	if err != nil {
		return "an unknown commit (git failed)"
	}
	c := "commit " + strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--", "membership/", ":!membership/*_test.go").Output(); err == nil && len(strings.TrimSpace(string(st))) > 0 {
		c += " with uncommitted changes"
	}
	return c
}

// commandLine returns how this process was started, as a go run command.
func commandLine() string {
	return strings.Join(append([]string{"go run ./testnet/cmd/swimexp"}, os.Args[1:]...), " ")
}

// loadAvg returns the 1-minute load average.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

// cpuTime returns the CPU time (user + system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSS returns the process's peak resident set size in bytes.
func peakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss * 1024
}

package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// What the rest of the machine did while a window ran. This machine is a
// shared virtual machine with two cores: a window that the bench process
// saw slow down may have lost CPU to another tenant (the hypervisor's steal
// time) or to another process, which the process's own CPU figure cannot
// show. The N = 1,000 windows split into healthy and slowed ones with
// nothing in the protocol's counters telling them apart
// (docs/benchmarks/ladder.md, sessions 38 and 41); these figures say
// whether the machine did.

// machineCPU is the machine's CPU time by kind, from the first line of
// /proc/stat (Linux), or ok false where there is none.
type machineCPU struct {
	ok bool
	// busy is user, nice and system time (guest time is counted in user);
	// irq is hard and soft interrupt time, which on loopback includes the
	// receiving half of every datagram the hosts send; steal is the time
	// the hypervisor gave another guest while this one had work.
	busy, irq, steal, idle time.Duration
}

// clockTick is USER_HZ, the unit of /proc/stat: 100 on every Linux
// architecture Go supports (the kernel's ABI fixes it; sysconf's
// _SC_CLK_TCK returns it).
const clockTick = 10 * time.Millisecond

func readMachineCPU() machineCPU {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return machineCPU{}
	}
	return parseProcStat(string(b))
}

// parseProcStat reads the aggregate "cpu" line: user nice system idle
// iowait irq softirq steal [guest guest_nice].
func parseProcStat(s string) machineCPU {
	line, _, _ := strings.Cut(s, "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return machineCPU{}
	}
	var v [8]time.Duration
	for i := range v {
		n, err := strconv.ParseUint(f[i+1], 10, 63)
		if err != nil {
			return machineCPU{}
		}
		v[i] = time.Duration(n) * clockTick
	}
	return machineCPU{ok: true, busy: v[0] + v[1] + v[2], idle: v[3] + v[4], irq: v[5] + v[6], steal: v[7]}
}

// describeMachine says, in cores over wall, what the machine did between
// from and to besides the bench process's own CPU time ours: other
// processes (busy time not the process's; the kernel's work in system
// calls on its behalf is in ours), interrupts, steal, and what stayed idle.
func describeMachine(from, to machineCPU, ours, wall time.Duration) string {
	if !from.ok || !to.ok || wall <= 0 {
		return "machine: /proc/stat not readable"
	}
	cores := func(d time.Duration) float64 { return float64(d) / float64(wall) }
	other := max(0, to.busy-from.busy-ours)
	return fmt.Sprintf("machine: other processes %.2f cores, interrupts %.2f, steal %.2f, idle %.2f",
		cores(other), cores(to.irq-from.irq), cores(to.steal-from.steal), cores(to.idle-from.idle))
}

package main

import (
	"bytes"
	"os"
	"strconv"
	"time"
)

// usage is a process's resource counters at one moment, as far as the
// system reveals them: Linux's /proc for the server child, getrusage for
// this process.
type usage struct {
	ok           bool
	cpu          time.Duration // user + system
	reads, write uint64        // read and write system calls
}

// clockTick is USER_HZ, the unit of /proc/PID/stat times: 100 on every
// Linux platform Go supports.
const clockTick = 10 * time.Millisecond

// procUsage reads the CPU time and system call counts of process pid.
func procUsage(pid int) usage {
	dir := "/proc/" + strconv.Itoa(pid)
	stat, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return usage{}
	}
	// The command name is in parentheses and may hold spaces; the fields
	// after it start with field 3 (state); utime and stime are 14 and 15.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return usage{}
	}
	f := bytes.Fields(stat[i+1:])
	if len(f) < 13 {
		return usage{}
	}
	ut, err1 := strconv.ParseUint(string(f[11]), 10, 64)
	st, err2 := strconv.ParseUint(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return usage{}
	}
	u := usage{ok: true, cpu: time.Duration(ut+st) * clockTick}
	if io, err := os.ReadFile(dir + "/io"); err == nil {
		for line := range bytes.Lines(io) {
			k, v, _ := bytes.Cut(bytes.TrimSpace(line), []byte(": "))
			n, _ := strconv.ParseUint(string(v), 10, 64)
			switch string(k) {
			case "syscr":
				u.reads = n
			case "syscw":
				u.write = n
			}
		}
	}
	return u
}

// machineBusy reads the CPU time all processors of the machine spent busy
// (not idle or waiting for I/O) since boot, from /proc/stat.
func machineBusy() (time.Duration, bool) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	line, _, _ := bytes.Cut(data, []byte("\n"))
	f := bytes.Fields(line)
	if len(f) < 8 || string(f[0]) != "cpu" {
		return 0, false
	}
	var busy uint64
	for i, v := range f[1:] {
		n, err := strconv.ParseUint(string(v), 10, 64)
		if err != nil {
			return 0, false
		}
		if i != 3 && i != 4 && i < 8 { // user nice system [idle iowait] irq softirq steal
			busy += n
		}
	}
	return time.Duration(busy) * clockTick, true
}

// cpuSample is the CPU time of the server process, this process and the
// whole machine at one moment.
type cpuSample struct {
	at                      time.Duration
	server, client, machine time.Duration
	ok                      bool // all three known
}

func sampleCPU(at time.Duration, pid int) cpuSample {
	s := cpuSample{at: at}
	c := selfUsage()
	m, mok := machineBusy()
	if pid <= 0 || !c.ok || !mok {
		return s
	}
	srv := procUsage(pid)
	s.server, s.client, s.machine, s.ok = srv.cpu, c.cpu, m, srv.ok
	return s
}

// otherCores is the CPU the rest of the machine used between a and b, in
// cores: busy time minus the server's and the client's. It shows when a
// shared machine's other work competed with the measurement.
func otherCores(a, b cpuSample) float64 {
	if !a.ok || !b.ok || b.at <= a.at {
		return 0
	}
	other := (b.machine - a.machine) - (b.server - a.server) - (b.client - a.client)
	return max(0, other.Seconds()/(b.at-a.at).Seconds())
}

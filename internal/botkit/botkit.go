package botkit

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// Millis is a duration that reads as milliseconds in JSON and text.
type Millis time.Duration

func (m Millis) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(float64(m)/1e6, 'f', 3, 64)), nil
}

func (m Millis) String() string { return Ms(time.Duration(m)) }

// Ms formats d as milliseconds with two decimals.
func Ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/1e6) }

// ProcCPU is the CPU time (user and system) process pid has used.
func ProcCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces: split after its ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no ')'", pid)
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f)+2)
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad utime/stime %q %q", pid, f[11], f[12])
	}
	return time.Duration(utime+stime) * (time.Second / 100), nil
}

// Loopback refuses addresses off this machine: a load tool is not to be
// pointed at someone else's server. addr may carry the kcp:// prefix.
func Loopback(addr string) error {
	host, _, err := net.SplitHostPort(HostPort(addr))
	if err != nil {
		return fmt.Errorf("-addr %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("-addr %q: only loopback addresses (127.0.0.0/8, ::1, localhost) are allowed "+
			"(-allow-remote for a stack you own)", addr)
	}
	return nil
}

// Target checks a load tool's server address: on loopback (Loopback), or,
// with allowRemote, any host:port. allowRemote is the tools' -allow-remote
// flag, an explicit opt-in for a stack the operator owns (the bots in the
// compose stack dial another container); the default stays loopback only.
func Target(addr string, allowRemote bool) error {
	if !allowRemote {
		return Loopback(addr)
	}
	host, port, err := net.SplitHostPort(HostPort(addr))
	if err != nil {
		return fmt.Errorf("-addr %q: %w", addr, err)
	}
	if host == "" || port == "" {
		return fmt.Errorf("-addr %q: want host:port", addr)
	}
	return nil
}

// CPU is a process's CPU time over a run.
type CPU struct {
	Source      string  `json:"source"`
	Seconds     float64 `json:"cpu_seconds"`
	Cores       float64 `json:"cores"`        // average over the run
	SteadyCores float64 `json:"steady_cores"` // after the ramp
}

// CPUOver is the CPU a process used from start to end (used0, used2), and
// per second after the ramp (from ramped, used1); source says where the
// figures come from.
func CPUOver(source string, start, ramped, end time.Time, used0, used1, used2 time.Duration) *CPU {
	out := &CPU{Source: source, Seconds: (used2 - used0).Seconds()}
	if dt := end.Sub(start).Seconds(); dt > 0 {
		out.Cores = (used2 - used0).Seconds() / dt
	}
	if dt := end.Sub(ramped).Seconds(); dt > 0.5 {
		out.SteadyCores = (used2 - used1).Seconds() / dt
	}
	return out
}

// Line is the report line for c, named name ("server CPU").
func (c *CPU) Line(name string) string {
	return fmt.Sprintf("  %-13s %.2f cores after the ramp, %.2f over the run (%.1f CPU-s); %s",
		name, c.SteadyCores, c.Cores, c.Seconds, c.Source)
}

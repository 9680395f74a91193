package deploy

import (
	"context"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// runHealthcheck runs the server binary's healthcheck subcommand with env
// alone and returns its exit status and output.
func runHealthcheck(t *testing.T, server string, env []string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t, server), append([]string{"healthcheck"}, args...)...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil && cmd.ProcessState == nil {
		t.Fatalf("%s healthcheck: %v", server, err)
	}
	return cmd.ProcessState.ExitCode(), string(out)
}

// TestHealthcheckSubcommand runs each built server and probes it the way
// the image's and compose's healthchecks do: its own binary's healthcheck
// subcommand, which finds the admin listener from the same ZINX_ADMINADDR
// (0.0.0.0 probed on 127.0.0.1), exits 0 while the server serves and 1,
// with the reason, once it is gone.
func TestHealthcheckSubcommand(t *testing.T) {
	for _, name := range servers {
		t.Run(name, func(t *testing.T) {
			s := startServer(t, name, false, "")
			_, port, err := net.SplitHostPort(s.admn)
			if err != nil {
				t.Fatal(err)
			}
			for _, env := range [][]string{{"ZINX_ADMINADDR=" + s.admn}, {"ZINX_ADMINADDR=0.0.0.0:" + port}} {
				for _, args := range [][]string{nil, {"-ready"}} {
					if code, out := runHealthcheck(t, name, env, args...); code != 0 {
						t.Errorf("healthcheck %q with %q = %d, want 0:\n%s", args, env, code, out)
					}
				}
			}
			if code, out := runHealthcheck(t, name, nil); code != 1 || !strings.Contains(out, "AdminAddr is not set") {
				t.Errorf("healthcheck without AdminAddr = %d, want 1 saying so:\n%s", code, out)
			}
			s.stop(t)
			code, out := runHealthcheck(t, name, []string{"ZINX_ADMINADDR=0.0.0.0:" + port}, "-ready")
			if code != 1 || !strings.Contains(out, "http://127.0.0.1:"+port+"/readyz") {
				t.Errorf("healthcheck -ready after the server stopped = %d, want 1 naming the URL:\n%s", code, out)
			}
		})
	}
}

package deploy

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestK8sEnvIsConfig runs each game server's checkconfig with the
// environment its manifest gives it: every ZINX_ variable must be a key the
// server knows, and every value one it accepts. Values the cluster fills
// in get stand-ins: a node ID of 3 for the pod index, a 64-byte value for
// each secret (the auth secret needs 32 or more).
func TestK8sEnvIsConfig(t *testing.T) {
	b := loadK8s(t)
	for _, s := range b.statefulSets {
		c, name, ok := gameServer(s)
		if !ok {
			continue
		}
		t.Run(name, func(t *testing.T) {
			var env []string
			for _, e := range c.Env {
				v := e.Value
				switch r := e.ValueFrom; {
				case r == nil:
				case r.FieldRef != nil && r.FieldRef.FieldPath == podIndexField:
					v = "3"
				case r.SecretKeyRef != nil:
					v = strings.Repeat("k", 64)
				default:
					t.Fatalf("%s: no stand-in for valueFrom %+v", e.Name, r)
				}
				env = append(env, e.Name+"="+v)
			}
			bin := binary(t, name)
			if out, err := checkconfig(bin, env); err != nil {
				t.Errorf("%s checkconfig with the manifest's environment: %v\n%s", name, err, out)
			}
			// The same check must refuse a variable no key has, or its
			// success above says nothing.
			out, err := checkconfig(bin, append(env, "ZINX_REDIS_KEYPREFX=zinxgame:"))
			if err == nil || !strings.Contains(out, "ZINX_REDIS_KEYPREFX") {
				t.Errorf("%s checkconfig with a misspelt ZINX_REDIS_KEYPREFX: %v, and its output does not name it:\n%s", name, err, out)
			}
		})
	}
}

// checkconfig runs bin checkconfig with env alone (none of this process's
// ZINX_ variables), bounded in time.
func checkconfig(bin string, env []string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "checkconfig")
	cmd.Env = env
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	return string(out), err
}

package deploy

import (
	"errors"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// TestK8sManifests holds deploy/k8s to the invariants of checkK8s.
func TestK8sManifests(t *testing.T) {
	b := loadK8s(t)
	for _, err := range checkK8s(b) {
		t.Error(err)
	}
	var names []string
	for _, s := range b.statefulSets {
		if _, name, ok := gameServer(s); ok {
			names = append(names, name)
		}
	}
	if strings.Join(names, ",") != "lockstep,mmo" {
		t.Errorf("the game servers' StatefulSets run %q, want lockstep and mmo", names)
	}
}

// TestK8sChecksCatch breaks one invariant at a time in a copy of the real
// bundle and expects checkK8s to name it: a check that cannot fail would
// let TestK8sManifests pass on anything.
func TestK8sChecksCatch(t *testing.T) {
	orig := loadK8s(t)
	game := func(b *k8sBundle, name string) (*appsv1.StatefulSet, *corev1.Container) {
		for _, s := range b.statefulSets {
			if c, n, ok := gameServer(s); ok && n == name {
				return s, c
			}
		}
		t.Fatalf("no StatefulSet runs %s", name)
		return nil, nil
	}
	setEnv := func(c *corev1.Container, name string, e corev1.EnvVar) {
		for i := range c.Env {
			if c.Env[i].Name == name {
				e.Name = name
				c.Env[i] = e
				return
			}
		}
		t.Fatalf("container %s has no %s", c.Name, name)
	}
	service := func(b *k8sBundle, name string) *corev1.Service {
		for _, s := range b.services {
			if s.Name == name {
				return s
			}
		}
		t.Fatalf("no Service %s", name)
		return nil
	}
	for _, tc := range []struct {
		name   string
		mutate func(b *k8sBundle)
		want   string
	}{
		{"template label", func(b *k8sBundle) {
			s, _ := game(b, "lockstep")
			s.Spec.Template.Labels["app.kubernetes.io/name"] = "lockstep2"
		}, "does not match its template"},
		{"not headless", func(b *k8sBundle) { service(b, "mmo-pods").Spec.ClusterIP = "" }, "names no headless Service"},
		{"serviceName", func(b *k8sBundle) { s, _ := game(b, "mmo"); s.Spec.ServiceName = "mmo-pod" }, "names no headless Service"},
		{"no PDB", func(b *k8sBundle) { b.pdbs = b.pdbs[:0] }, "no PodDisruptionBudget"},
		{"PDB of 2", func(b *k8sBundle) { v := intstr.FromInt32(2); b.pdbs[0].Spec.MaxUnavailable = &v }, "no PodDisruptionBudget"},
		{"target port", func(b *k8sBundle) { service(b, "lockstep").Spec.Ports[0].TargetPort = intstr.FromString("gam") }, "is no container port"},
		{"KCP over TCP", func(b *k8sBundle) { service(b, "lockstep").Spec.Ports[2].Protocol = corev1.ProtocolTCP }, "is no container port"},
		{"liveness path", func(b *k8sBundle) { _, c := game(b, "mmo"); c.LivenessProbe.HTTPGet.Path = "/health" }, "livenessProbe gets /health"},
		{"readiness port", func(b *k8sBundle) {
			_, c := game(b, "mmo")
			c.ReadinessProbe.HTTPGet.Port = intstr.FromString("game")
		}, "readinessProbe gets /readyz on port game"},
		{"short startup", func(b *k8sBundle) { _, c := game(b, "lockstep"); c.StartupProbe.FailureThreshold = 5 }, "startupProbe allows 10s"},
		{"admin addr", func(b *k8sBundle) {
			_, c := game(b, "lockstep")
			setEnv(c, "ZINX_ADMINADDR", corev1.EnvVar{Value: "0.0.0.0:9100"})
		}, "ZINX_ADMINADDR port 9100 is no container port"},
		{"node ID literal", func(b *k8sBundle) {
			_, c := game(b, "lockstep")
			setEnv(c, "ZINX_NODEID", corev1.EnvVar{Value: "0"})
		}, "ZINX_NODEID does not come from the pod-index"},
		{"too many replicas", func(b *k8sBundle) {
			s, _ := game(b, "mmo")
			n := int32(1025)
			s.Spec.Replicas = &n
		}, "1025 replicas"},
		{"short grace", func(b *k8sBundle) {
			s, _ := game(b, "mmo")
			g := int64(26)
			s.Spec.Template.Spec.TerminationGracePeriodSeconds = &g
		}, "terminationGracePeriodSeconds 26"},
		{"shutdown timeout", func(b *k8sBundle) {
			_, c := game(b, "mmo")
			setEnv(c, "ZINX_SHUTDOWNTIMEOUT", corev1.EnvVar{Value: "25"})
		}, "ZINX_SHUTDOWNTIMEOUT \"25\""},
		{"spill off the volume", func(b *k8sBundle) {
			_, c := game(b, "lockstep")
			setEnv(c, "ZINX_REDIS_SPILLFILE", corev1.EnvVar{Value: "/var/lib/zinxgame/lockstep.spill"})
		}, "is on no writable volume"},
		{"spill volume small", func(b *k8sBundle) {
			s, _ := game(b, "lockstep")
			s.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("256Mi")
		}, "is not larger than the spill file's bound"},
		{"spill bound default", func(b *k8sBundle) {
			_, c := game(b, "mmo")
			c.Env = removeEnv(c.Env, "ZINX_REDIS_MAXSPILLBYTES") // the default, 1 GiB, fills a 1Gi volume
		}, "is not larger than the spill file's bound (1073741824"},
		{"root", func(b *k8sBundle) {
			_, c := game(b, "mmo")
			uid := int64(0)
			c.SecurityContext.RunAsUser = &uid
		}, "not non-root"},
		{"writable root", func(b *k8sBundle) {
			s := b.statefulSets[0]
			f := false
			s.Spec.Template.Spec.Containers[0].SecurityContext.ReadOnlyRootFilesystem = &f
		}, "root filesystem is writable"},
		{"no limits", func(b *k8sBundle) { _, c := game(b, "lockstep"); c.Resources.Limits = nil }, "cpu request 500m and limit 0"},
		{"same prefix", func(b *k8sBundle) {
			_, c := game(b, "mmo")
			setEnv(c, "ZINX_REDIS_KEYPREFIX", corev1.EnvVar{Value: "zinxgame:lockstep:"})
		}, "share Redis redis:6379"},
		{"default prefix", func(b *k8sBundle) {
			_, c := game(b, "mmo")
			c.Env = removeEnv(c.Env, "ZINX_REDIS_KEYPREFIX") // "zinxgame:", a prefix of "zinxgame:lockstep:"
		}, "key prefixes \"zinxgame:lockstep:\" and \"zinxgame:\""},
		{"literal secret", func(b *k8sBundle) {
			_, c := game(b, "lockstep")
			setEnv(c, "ZINX_AUTH_SECRET", corev1.EnvVar{Value: strings.Repeat("x", 32)})
		}, "ZINX_AUTH_SECRET does not come from the Secret"},
		{"kcp port", func(b *k8sBundle) {
			_, c := game(b, "lockstep")
			setEnv(c, "ZINX_KCPPORT", corev1.EnvVar{Value: "9002"})
		}, "listens on 9002/UDP"},
		{"scrape port", func(b *k8sBundle) {
			s, _ := game(b, "mmo")
			s.Spec.Template.Annotations["prometheus.io/port"] = "9100"
		}, "do not scrape /metrics"},
		{"port name", func(b *k8sBundle) {
			_, c := game(b, "lockstep")
			c.Ports[3].Name = "admin-listener-port"
		}, "port \"admin-listener-port\": must be no more than 15 characters"},
		{"no player Service", func(b *k8sBundle) { service(b, "redis").Spec.Selector = nil }, "StatefulSet redis: no Service"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := orig.deepCopy()
			tc.mutate(b)
			errs := checkK8s(b)
			for _, err := range errs {
				if strings.Contains(err.Error(), tc.want) {
					return
				}
			}
			t.Errorf("no error says %q; got %v", tc.want, errors.Join(errs...))
		})
	}
}

func removeEnv(env []corev1.EnvVar, name string) []corev1.EnvVar {
	out := env[:0:0]
	for _, e := range env {
		if e.Name != name {
			out = append(out, e)
		}
	}
	return out
}

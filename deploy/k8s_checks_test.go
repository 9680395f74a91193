package deploy

import (
	"fmt"
	"maps"
	"net"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/zinxgame/zinxgame/game/account/ids"
	"github.com/zinxgame/zinxgame/zconf"
)

// The numbers the game servers' manifests are held to.
const (
	// podIndexField is the downward API field of a StatefulSet pod's
	// ordinal (a label since Kubernetes 1.28).
	podIndexField = "metadata.labels['apps.kubernetes.io/pod-index']"
	// startupBudget is the least time a startupProbe must allow: the Redis
	// store replays a spill file for up to 30s (redisstore's replayWait)
	// before the admin listener opens, plus the dial and the start.
	startupBudget = 40 * time.Second
	// exitMargin is the least time terminationGracePeriodSeconds must
	// leave after ZINX_SHUTDOWNTIMEOUT: spilling what Redis did not take
	// and exiting, before the kubelet's SIGKILL.
	exitMargin = 5 * time.Second
	// secretName is the Secret the manifests read and never commit.
	secretName = "zinxgame"
)

// secretVars must come from the Secret, never from a literal value.
var secretVars = []string{"ZINX_AUTH_SECRET", "ZINX_ADMINTOKEN"}

// gameServer is the container of a StatefulSet that runs one of the
// image's servers, and that binary's name (a key of binaries); ok is false
// for other StatefulSets (Redis).
func gameServer(s *appsv1.StatefulSet) (c *corev1.Container, name string, ok bool) {
	for i := range s.Spec.Template.Spec.Containers {
		c := &s.Spec.Template.Spec.Containers[i]
		if len(c.Command) == 0 || path.Dir(c.Command[0]) != "/usr/local/bin" {
			continue
		}
		if name := path.Base(c.Command[0]); binaries[name] != "" && !strings.HasSuffix(name, "-bot") {
			return c, name, true
		}
	}
	return nil, "", false
}

// envOf is a container's environment by name.
func envOf(c *corev1.Container) map[string]corev1.EnvVar {
	m := make(map[string]corev1.EnvVar, len(c.Env))
	for _, e := range c.Env {
		m[e.Name] = e
	}
	return m
}

// selects reports whether a Service's selector picks the pods of labels
// (an empty selector picks none: such a Service has manual endpoints).
func selects(sel map[string]string, lbls map[string]string) bool {
	return len(sel) > 0 && labels.SelectorFromSet(sel).Matches(labels.Set(lbls))
}

// containerPort resolves a Service target port or a probe port (a number
// or a name) to a port of c with protocol proto.
func containerPort(c *corev1.Container, p intstr.IntOrString, proto corev1.Protocol) (corev1.ContainerPort, bool) {
	if proto == "" {
		proto = corev1.ProtocolTCP
	}
	for _, cp := range c.Ports {
		pp := cp.Protocol
		if pp == "" {
			pp = corev1.ProtocolTCP
		}
		hit := p.Type == intstr.String && cp.Name == p.StrVal || p.Type == intstr.Int && cp.ContainerPort == p.IntVal
		if hit && pp == proto {
			return cp, true
		}
	}
	return corev1.ContainerPort{}, false
}

// checkK8s returns every broken invariant of the bundle, each naming its
// object: the checks of every StatefulSet, those of the game servers, and
// the key spaces of the servers sharing a Redis.
func checkK8s(b *k8sBundle) []error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	type redisUse struct{ sts, addr, db, prefix string }
	var uses []redisUse
	games := 0
	for _, s := range b.statefulSets {
		checkStatefulSet(b, s, fail)
		c, _, ok := gameServer(s)
		if !ok {
			continue
		}
		games++
		checkGameServer(b, s, c, fail)
		env := envOf(c)
		if a := env["ZINX_REDIS_ADDR"].Value; a != "" {
			u := redisUse{sts: s.Name, addr: a, db: env["ZINX_REDIS_DB"].Value, prefix: zconf.DefaultRedis().KeyPrefix}
			if p, set := env["ZINX_REDIS_KEYPREFIX"]; set {
				u.prefix = p.Value
			}
			uses = append(uses, u)
		}
	}
	if games == 0 {
		fail("no StatefulSet runs a game server")
	}
	checkNames(b, fail)
	// Node IDs repeat across StatefulSets (each counts from 0), so two
	// games on one Redis database must keep apart by their key prefixes:
	// neither may be a prefix of the other.
	for i, a := range uses {
		for _, o := range uses[i+1:] {
			if a.addr == o.addr && a.db == o.db && (strings.HasPrefix(a.prefix, o.prefix) || strings.HasPrefix(o.prefix, a.prefix)) {
				fail("StatefulSets %s and %s share Redis %s (db %q) with key prefixes %q and %q: their node IDs collide in running:<node>, sessions and players",
					a.sts, o.sts, a.addr, a.db, a.prefix, o.prefix)
			}
		}
	}
	return errs
}

// checkStatefulSet holds every StatefulSet (Redis too) to its selector,
// its Services and a locked-down, bounded container.
func checkStatefulSet(b *k8sBundle, s *appsv1.StatefulSet, fail func(string, ...any)) {
	tmpl := s.Spec.Template.Labels
	sel, err := metav1.LabelSelectorAsSelector(s.Spec.Selector)
	switch {
	case err != nil:
		fail("StatefulSet %s: selector: %v", s.Name, err)
	case sel.Empty() || !sel.Matches(labels.Set(tmpl)):
		fail("StatefulSet %s: selector %s does not match its template's labels %v", s.Name, sel, tmpl)
	}
	if s.Spec.UpdateStrategy.Type != appsv1.RollingUpdateStatefulSetStrategyType {
		fail("StatefulSet %s: updateStrategy %q, want RollingUpdate", s.Name, s.Spec.UpdateStrategy.Type)
	}
	headless, players := false, false
	for _, svc := range b.services {
		if !selects(svc.Spec.Selector, tmpl) {
			continue
		}
		if svc.Spec.ClusterIP == corev1.ClusterIPNone {
			headless = headless || svc.Name == s.Spec.ServiceName
		} else {
			players = true
		}
		for _, sp := range svc.Spec.Ports {
			if !anyContainerPort(s, sp.TargetPort, sp.Protocol) {
				fail("Service %s port %s: target port %s/%s is no container port of StatefulSet %s", svc.Name, sp.Name, sp.TargetPort.String(), sp.Protocol, s.Name)
			}
		}
	}
	if !headless {
		fail("StatefulSet %s: serviceName %q names no headless Service (clusterIP: None) that selects its pods", s.Name, s.Spec.ServiceName)
	}
	if !players {
		fail("StatefulSet %s: no Service (with a cluster IP) selects its pods", s.Name)
	}
	ps := s.Spec.Template.Spec.SecurityContext
	for _, c := range s.Spec.Template.Spec.Containers {
		nonRoot, uid := false, int64(-1)
		if ps != nil {
			nonRoot = ps.RunAsNonRoot != nil && *ps.RunAsNonRoot
			if ps.RunAsUser != nil {
				uid = *ps.RunAsUser
			}
		}
		cs := c.SecurityContext
		if cs == nil {
			cs = &corev1.SecurityContext{}
		}
		if cs.RunAsNonRoot != nil {
			nonRoot = *cs.RunAsNonRoot
		}
		if cs.RunAsUser != nil {
			uid = *cs.RunAsUser
		}
		if !nonRoot || uid <= 0 {
			fail("StatefulSet %s container %s: not non-root (runAsNonRoot %v, runAsUser %d)", s.Name, c.Name, nonRoot, uid)
		}
		if cs.AllowPrivilegeEscalation == nil || *cs.AllowPrivilegeEscalation {
			fail("StatefulSet %s container %s: allowPrivilegeEscalation is not false", s.Name, c.Name)
		}
		if cs.Privileged != nil && *cs.Privileged {
			fail("StatefulSet %s container %s: privileged", s.Name, c.Name)
		}
		if cs.ReadOnlyRootFilesystem == nil || !*cs.ReadOnlyRootFilesystem {
			fail("StatefulSet %s container %s: the root filesystem is writable", s.Name, c.Name)
		}
		if cs.Capabilities == nil || !slices.Contains(cs.Capabilities.Drop, "ALL") || len(cs.Capabilities.Add) > 0 {
			fail("StatefulSet %s container %s: capabilities are not all dropped", s.Name, c.Name)
		}
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			req, lim := c.Resources.Requests[r], c.Resources.Limits[r]
			if req.IsZero() || lim.IsZero() || req.Cmp(lim) > 0 {
				fail("StatefulSet %s container %s: %s request %s and limit %s: want both, request ≤ limit", s.Name, c.Name, r, req.String(), lim.String())
			}
		}
	}
}

func anyContainerPort(s *appsv1.StatefulSet, p intstr.IntOrString, proto corev1.Protocol) bool {
	for i := range s.Spec.Template.Spec.Containers {
		if _, ok := containerPort(&s.Spec.Template.Spec.Containers[i], p, proto); ok {
			return true
		}
	}
	return false
}

// checkGameServer holds a game server's StatefulSet to what the server
// needs of its pod: a PDB, the probes on its admin port, its node ID, its
// shutdown, its spill volume, its ports and its secrets.
func checkGameServer(b *k8sBundle, s *appsv1.StatefulSet, c *corev1.Container, fail func(string, ...any)) {
	pod := &s.Spec.Template.Spec
	env := envOf(c)
	if !slices.ContainsFunc(b.pdbs, func(p *policyv1.PodDisruptionBudget) bool {
		sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
		return err == nil && !sel.Empty() && sel.Matches(labels.Set(s.Spec.Template.Labels)) &&
			p.Spec.MaxUnavailable != nil && p.Spec.MaxUnavailable.String() == "1"
	}) {
		fail("StatefulSet %s: no PodDisruptionBudget with maxUnavailable 1 selects its pods", s.Name)
	}

	// The admin listener: ZINX_ADMINADDR's port is a container port, and
	// the probes and Prometheus's annotations name it.
	var admin corev1.ContainerPort
	if _, port, err := net.SplitHostPort(env["ZINX_ADMINADDR"].Value); err != nil {
		fail("StatefulSet %s: ZINX_ADMINADDR %q: %v", s.Name, env["ZINX_ADMINADDR"].Value, err)
	} else if n, err := strconv.Atoi(port); err != nil {
		fail("StatefulSet %s: ZINX_ADMINADDR port %q: %v", s.Name, port, err)
	} else if cp, ok := containerPort(c, intstr.FromInt32(int32(n)), corev1.ProtocolTCP); !ok {
		fail("StatefulSet %s: ZINX_ADMINADDR port %d is no container port", s.Name, n)
	} else {
		admin = cp
	}
	for _, pr := range []struct {
		kind, path string
		p          *corev1.Probe
	}{{"startupProbe", "/healthz", c.StartupProbe}, {"livenessProbe", "/healthz", c.LivenessProbe}, {"readinessProbe", "/readyz", c.ReadinessProbe}} {
		if pr.p == nil || pr.p.HTTPGet == nil {
			fail("StatefulSet %s: %s is not an httpGet", s.Name, pr.kind)
			continue
		}
		g := pr.p.HTTPGet
		cp, ok := containerPort(c, g.Port, corev1.ProtocolTCP)
		if g.Path != pr.path || !ok || cp.ContainerPort != admin.ContainerPort {
			fail("StatefulSet %s: %s gets %s on port %s, want %s on the admin port %d", s.Name, pr.kind, g.Path, g.Port.String(), pr.path, admin.ContainerPort)
		}
	}
	if p := c.StartupProbe; p != nil {
		period, failures := p.PeriodSeconds, p.FailureThreshold
		if period == 0 {
			period = 10 // the API's default
		}
		if failures == 0 {
			failures = 3 // the API's default
		}
		if got := time.Duration(p.InitialDelaySeconds+period*failures) * time.Second; got < startupBudget {
			fail("StatefulSet %s: the startupProbe allows %s, less than the %s a spill replay may take", s.Name, got, startupBudget)
		}
	}
	ann := s.Spec.Template.Annotations
	if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/path"] != "/metrics" || ann["prometheus.io/port"] != strconv.Itoa(int(admin.ContainerPort)) {
		fail("StatefulSet %s: the prometheus.io annotations %v do not scrape /metrics on the admin port %d", s.Name, ann, admin.ContainerPort)
	}

	// The ordinal is the node ID, which ids allows up to MaxNode.
	if r := s.Spec.Replicas; r != nil && *r > ids.MaxNode+1 {
		fail("StatefulSet %s: %d replicas: the node IDs (the ordinals) stop at %d", s.Name, *r, ids.MaxNode)
	}
	if e := env["ZINX_NODEID"]; e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != podIndexField {
		fail("StatefulSet %s: ZINX_NODEID does not come from the pod-index label (%s)", s.Name, podIndexField)
	}

	// The shutdown: the grace period outlasts the server's own bound.
	if d, err := time.ParseDuration(env["ZINX_SHUTDOWNTIMEOUT"].Value); err != nil || d <= 0 {
		fail("StatefulSet %s: ZINX_SHUTDOWNTIMEOUT %q is not a positive duration", s.Name, env["ZINX_SHUTDOWNTIMEOUT"].Value)
	} else if g := pod.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second < d+exitMargin {
		fail("StatefulSet %s: terminationGracePeriodSeconds %v is not %s longer than ZINX_SHUTDOWNTIMEOUT %s", s.Name, ptrVal(g), exitMargin, d)
	}

	checkSpill(s, c, env, fail)
	checkListeners(s, c, env, fail)

	for _, name := range secretVars {
		e, ok := env[name]
		if !ok || e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil || e.ValueFrom.SecretKeyRef.Name != secretName {
			fail("StatefulSet %s: %s does not come from the Secret %q", s.Name, name, secretName)
		}
	}
	for _, e := range c.Env {
		if r := e.ValueFrom; r != nil && r.SecretKeyRef != nil && r.SecretKeyRef.Name != secretName {
			fail("StatefulSet %s: %s reads Secret %q, not %q", s.Name, e.Name, r.SecretKeyRef.Name, secretName)
		}
	}
}

// checkSpill: the spill file is on a volume of the pod's own claim, big
// enough for the file's bound.
func checkSpill(s *appsv1.StatefulSet, c *corev1.Container, env map[string]corev1.EnvVar, fail func(string, ...any)) {
	file := env["ZINX_REDIS_SPILLFILE"].Value
	if !path.IsAbs(file) {
		fail("StatefulSet %s: ZINX_REDIS_SPILLFILE %q is not an absolute path", s.Name, file)
		return
	}
	var mount *corev1.VolumeMount
	for i, m := range c.VolumeMounts {
		if strings.HasPrefix(file, strings.TrimSuffix(m.MountPath, "/")+"/") && !m.ReadOnly {
			mount = &c.VolumeMounts[i]
		}
	}
	if mount == nil {
		fail("StatefulSet %s: ZINX_REDIS_SPILLFILE %s is on no writable volume mount", s.Name, file)
		return
	}
	i := slices.IndexFunc(s.Spec.VolumeClaimTemplates, func(p corev1.PersistentVolumeClaim) bool { return p.Name == mount.Name })
	if i < 0 {
		fail("StatefulSet %s: the spill file's volume %q is not a volumeClaimTemplate (one per pod, kept across restarts)", s.Name, mount.Name)
		return
	}
	bound := zconf.DefaultRedis().MaxSpillBytes
	if v, ok := env["ZINX_REDIS_MAXSPILLBYTES"]; ok {
		n, err := strconv.ParseInt(v.Value, 10, 64)
		if err != nil {
			fail("StatefulSet %s: ZINX_REDIS_MAXSPILLBYTES %q: %v", s.Name, v.Value, err)
			return
		}
		bound = n
	}
	size := s.Spec.VolumeClaimTemplates[i].Spec.Resources.Requests[corev1.ResourceStorage]
	if size.Value() <= bound {
		fail("StatefulSet %s: the spill volume (%s) is not larger than the spill file's bound (%d bytes)", s.Name, size.String(), bound)
	}
}

// checkListeners: each listener the server's Mode opens, on the port its
// config gives it (zconf's default when unset), is a container port.
func checkListeners(s *appsv1.StatefulSet, c *corev1.Container, env map[string]corev1.EnvVar, fail func(string, ...any)) {
	cfg := zconf.Default()
	if m, ok := env["ZINX_MODE"]; ok {
		cfg.Mode = m.Value
	}
	port := func(key string, def int) int {
		v, ok := env[key]
		if !ok {
			return def
		}
		n, err := strconv.Atoi(v.Value)
		if err != nil {
			fail("StatefulSet %s: %s %q: %v", s.Name, key, v.Value, err)
		}
		return n
	}
	want := map[string]struct {
		on    bool
		port  int
		proto corev1.Protocol
	}{
		"ZINX_TCPPORT": {cfg.ServesTCP(), port("ZINX_TCPPORT", cfg.TcpPort), corev1.ProtocolTCP},
		"ZINX_WSPORT":  {cfg.ServesWebSocket(), port("ZINX_WSPORT", cfg.WsPort), corev1.ProtocolTCP},
		"ZINX_KCPPORT": {cfg.ServesKCP(), port("ZINX_KCPPORT", cfg.KcpPort), corev1.ProtocolUDP},
	}
	for _, key := range slices.Sorted(maps.Keys(want)) {
		w := want[key]
		if _, ok := containerPort(c, intstr.FromInt32(int32(w.port)), w.proto); w.on && !ok {
			fail("StatefulSet %s: Mode %q listens on %d/%s (%s), which is no container port", s.Name, cfg.Mode, w.port, w.proto, key)
		}
	}
}

// checkNames holds the names the API server would refuse, which the strict
// decoding cannot see: Service names (DNS labels) and port names (IANA
// service names, at most 15 characters).
func checkNames(b *k8sBundle, fail func(string, ...any)) {
	for _, svc := range b.services {
		for _, msg := range validation.IsDNS1035Label(svc.Name) {
			fail("Service %q: %s", svc.Name, msg)
		}
		for _, p := range svc.Spec.Ports {
			for _, msg := range validation.IsValidPortName(p.Name) {
				fail("Service %s port %q: %s", svc.Name, p.Name, msg)
			}
		}
	}
	for _, s := range b.statefulSets {
		for _, c := range s.Spec.Template.Spec.Containers {
			for _, p := range c.Ports {
				for _, msg := range validation.IsValidPortName(p.Name) {
					fail("StatefulSet %s container %s port %q: %s", s.Name, c.Name, p.Name, msg)
				}
			}
		}
	}
}

func ptrVal[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

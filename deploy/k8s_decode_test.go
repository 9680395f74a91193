package deploy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// k8sDir holds the manifests, relative to this package.
const k8sDir = "k8s"

// k8sKinds are the kinds the manifests may hold, by apiVersion and kind,
// each with the typed object Kubernetes decodes it into. Any other kind is
// an error: a kind added to the manifests gets its checks here first.
var k8sKinds = map[string]func() any{
	"apps/v1 StatefulSet":           func() any { return &appsv1.StatefulSet{} },
	"v1 Service":                    func() any { return &corev1.Service{} },
	"policy/v1 PodDisruptionBudget": func() any { return &policyv1.PodDisruptionBudget{} },
}

// kustomization is the part of kustomize's Kustomization the bundle uses.
// kustomize's own types would bring its module in for three fields, so this
// struct is decoded strictly instead: a field kustomize knows but this
// does not fails the test, to be added here on purpose.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
}

// k8sBundle is every object of deploy/k8s, decoded.
type k8sBundle struct {
	statefulSets []*appsv1.StatefulSet
	services     []*corev1.Service
	pdbs         []*policyv1.PodDisruptionBudget
	kustomize    kustomization
	files        []string // the manifest files, kustomization.yaml aside
}

// deepCopy returns a bundle whose objects can be changed without touching
// b's, for the tests that break one invariant at a time.
func (b *k8sBundle) deepCopy() *k8sBundle {
	c := &k8sBundle{kustomize: b.kustomize, files: slices.Clone(b.files)}
	c.kustomize.Resources = slices.Clone(b.kustomize.Resources)
	for _, s := range b.statefulSets {
		c.statefulSets = append(c.statefulSets, s.DeepCopy())
	}
	for _, s := range b.services {
		c.services = append(c.services, s.DeepCopy())
	}
	for _, p := range b.pdbs {
		c.pdbs = append(c.pdbs, p.DeepCopy())
	}
	return c
}

// loadK8s decodes every deploy/k8s/*.yaml strictly, failing the test on
// the first document that does not decode.
func loadK8s(t *testing.T) *k8sBundle {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(k8sDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatalf("no manifests in %s", k8sDir)
	}
	b := &k8sBundle{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(p)
		if name == "kustomization.yaml" {
			if err := yaml.UnmarshalStrict(data, &b.kustomize); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			continue
		}
		b.files = append(b.files, name)
		objs, err := decodeManifests(data)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		for _, o := range objs {
			switch o := o.(type) {
			case *appsv1.StatefulSet:
				b.statefulSets = append(b.statefulSets, o)
			case *corev1.Service:
				b.services = append(b.services, o)
			case *policyv1.PodDisruptionBudget:
				b.pdbs = append(b.pdbs, o)
			default:
				t.Fatalf("%s: decoded a %T that k8sBundle has no place for", p, o)
			}
		}
	}
	return b
}

// decodeManifests splits a multi-document YAML file the way kubectl does
// and decodes each document strictly into its typed object: an unknown
// or misspelt field, a duplicate field, an unknown kind or a document
// with no kind is an error. Documents holding only comments are skipped.
func decodeManifests(data []byte) ([]any, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var objs []any
	for i := 0; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		j, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if s := strings.TrimSpace(string(j)); s == "null" || s == "" {
			continue // comments only
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if tm.APIVersion == "" || tm.Kind == "" {
			return nil, fmt.Errorf("document %d: no apiVersion or kind", i)
		}
		newObj, ok := k8sKinds[tm.APIVersion+" "+tm.Kind]
		if !ok {
			return nil, fmt.Errorf("document %d: %s %s is not a kind these checks know", i, tm.APIVersion, tm.Kind)
		}
		obj := newObj()
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			return nil, fmt.Errorf("document %d (%s): %w", i, tm.Kind, err)
		}
		objs = append(objs, obj)
	}
}

// TestK8sDecodeIsStrict shows the decoder refuses what the API server would
// (or would silently drop): without that, the manifests' decoding proves
// nothing.
func TestK8sDecodeIsStrict(t *testing.T) {
	const ok = "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: x}\nspec:\n  maxUnavailable: 1\n"
	if objs, err := decodeManifests([]byte("# a comment\n---\n" + ok)); err != nil || len(objs) != 1 {
		t.Fatalf("a valid PodDisruptionBudget: %d objects, %v", len(objs), err)
	}
	for name, doc := range map[string]string{
		"misspelt field":  strings.Replace(ok, "maxUnavailable", "maxUnavailble", 1),
		"duplicate field": ok + "  maxUnavailable: 2\n",
		"unknown kind":    strings.Replace(ok, "PodDisruptionBudget", "PodDisruptionBudgett", 1),
		"old apiVersion":  strings.Replace(ok, "policy/v1", "policy/v1beta1", 1),
		"no kind":         "apiVersion: v1\nmetadata: {name: x}\n",
		"wrong type":      strings.Replace(ok, "maxUnavailable: 1", "maxUnavailable: [1]", 1),
	} {
		if _, err := decodeManifests([]byte(doc)); err == nil {
			t.Errorf("%s: decoded without an error", name)
		}
	}
}

// TestK8sKustomization checks that kustomization.yaml lists exactly the
// manifest files, and, when kubectl is here, that kustomize builds the
// bundle offline into the same objects the files hold.
func TestK8sKustomization(t *testing.T) {
	b := loadK8s(t)
	if b.kustomize.APIVersion != "kustomize.config.k8s.io/v1beta1" || b.kustomize.Kind != "Kustomization" {
		t.Errorf("kustomization.yaml is %s %s", b.kustomize.APIVersion, b.kustomize.Kind)
	}
	got := slices.Sorted(slices.Values(b.kustomize.Resources))
	if want := slices.Sorted(slices.Values(b.files)); !slices.Equal(got, want) {
		t.Errorf("kustomization.yaml lists %q; the manifests are %q", got, want)
	}
	kustomizeBuild(t, b)
}

// kustomizeBuild runs kubectl kustomize on the bundle (offline: it needs no
// cluster) and compares the objects it emits with b's, by kind and name.
// A missing kubectl skips this part, in CI too: Debian has no package of
// it for .ci/run to install, and the list above is checked without it.
func kustomizeBuild(t *testing.T, b *k8sBundle) {
	t.Helper()
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl is not installed: kubectl kustomize not checked (the resource list was)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, kubectl, "kustomize", k8sDir).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("kubectl kustomize %s: %v\n%s", k8sDir, err, ee.Stderr)
		}
		t.Fatalf("kubectl kustomize %s: %v", k8sDir, err)
	}
	objs, err := decodeManifests(out)
	if err != nil {
		t.Fatalf("kubectl kustomize's output: %v", err)
	}
	var built []string
	for _, o := range objs {
		m := o.(metav1.Object)
		built = append(built, fmt.Sprintf("%T %s", o, m.GetName()))
	}
	var files []string
	for _, s := range b.statefulSets {
		files = append(files, fmt.Sprintf("%T %s", s, s.Name))
	}
	for _, s := range b.services {
		files = append(files, fmt.Sprintf("%T %s", s, s.Name))
	}
	for _, p := range b.pdbs {
		files = append(files, fmt.Sprintf("%T %s", p, p.Name))
	}
	slices.Sort(built)
	slices.Sort(files)
	if !slices.Equal(built, files) {
		t.Errorf("kubectl kustomize builds %q; the files hold %q", built, files)
	}
}

package zconf_test

import (
	"crypto/tls"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/zinxgame/zinxgame/internal/testcert"
	"github.com/zinxgame/zinxgame/zconf"
)

func TestNewTLSConfig(t *testing.T) {
	cert := testcert.New(t)
	for _, tt := range []struct {
		min  string
		want uint16
	}{{zconf.TLS12, tls.VersionTLS12}, {zconf.TLS13, tls.VersionTLS13}} {
		c := with(func(c *zconf.Config) {
			c.TLSCertFile, c.TLSKeyFile, c.TLSMinVersion = cert.CertFile, cert.KeyFile, tt.min
		})
		if !c.TLSEnabled() {
			t.Fatal("TLSEnabled() = false with both files set")
		}
		got, err := c.NewTLSConfig()
		if err != nil {
			t.Fatalf("NewTLSConfig: %v", err)
		}
		if len(got.Certificates) != 1 || got.MinVersion != tt.want {
			t.Errorf("TLSMinVersion %s: %d certificates, MinVersion %#x; want 1, %#x", tt.min, len(got.Certificates), got.MinVersion, tt.want)
		}
	}
}

func TestNewTLSConfigOff(t *testing.T) {
	c := zconf.Default()
	if c.TLSEnabled() {
		t.Fatal("TLSEnabled() = true by default")
	}
	if got, err := c.NewTLSConfig(); got != nil || err != nil {
		t.Fatalf("NewTLSConfig() = %v, %v; want nil, nil", got, err)
	}
}

func TestNewTLSConfigErrors(t *testing.T) {
	cert, other := testcert.New(t), testcert.New(t)
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.pem")
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		cert, key  string
		want       []string
		notExist   bool
		minVersion string
	}{
		{name: "certificate file missing", cert: missing, key: cert.KeyFile,
			want: []string{"TLSCertFile", missing}, notExist: true},
		{name: "key file missing", cert: cert.CertFile, key: missing,
			want: []string{"TLSKeyFile", missing}, notExist: true},
		{name: "certificate file is a directory", cert: dir, key: cert.KeyFile,
			want: []string{"TLSCertFile", dir}},
		{name: "certificate file not PEM", cert: garbage, key: cert.KeyFile,
			want: []string{garbage, "certificate"}},
		{name: "key file not PEM", cert: cert.CertFile, key: garbage,
			want: []string{garbage, "key"}},
		{name: "key of another certificate", cert: cert.CertFile, key: other.KeyFile,
			want: []string{cert.CertFile, other.KeyFile, "does not match"}},
		{name: "certificate only", cert: cert.CertFile,
			want: []string{`TLSKeyFile = ""`}},
		{name: "key only", key: cert.KeyFile,
			want: []string{`TLSCertFile = ""`}},
		{name: "bad TLSMinVersion", cert: cert.CertFile, key: cert.KeyFile, minVersion: "1.0",
			want: []string{`TLSMinVersion = "1.0"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := with(func(c *zconf.Config) {
				c.TLSCertFile, c.TLSKeyFile = tt.cert, tt.key
				if tt.minVersion != "" {
					c.TLSMinVersion = tt.minVersion
				}
			})
			got, err := c.NewTLSConfig()
			if got != nil {
				t.Errorf("NewTLSConfig returned a config with an error")
			}
			mustContain(t, err, append(tt.want, "zconf: ")...)
			if tt.notExist && !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("err = %v, want one wrapping fs.ErrNotExist", err)
			}
		})
	}
}

func TestNewTLSConfigUnreadableFile(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads files whatever their mode")
	}
	cert := testcert.New(t)
	if err := os.Chmod(cert.KeyFile, 0); err != nil {
		t.Fatal(err)
	}
	_, err := with(func(c *zconf.Config) { c.TLSCertFile, c.TLSKeyFile = cert.CertFile, cert.KeyFile }).NewTLSConfig()
	if !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("err = %v, want one wrapping fs.ErrPermission", err)
	}
	mustContain(t, err, "TLSKeyFile", cert.KeyFile)
}

func TestLoadTLSKeys(t *testing.T) {
	got, err := zconf.Load(zconf.Source{
		File:    writeConfig(t, `{"TLSCertFile": "c.pem", "TLSKeyFile": "k.pem", "TLSMinVersion": "1.3"}`),
		Environ: []string{},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.TLSCertFile != "c.pem" || got.TLSKeyFile != "k.pem" || got.TLSMinVersion != zconf.TLS13 {
		t.Fatalf("from the file: %q %q %q", got.TLSCertFile, got.TLSKeyFile, got.TLSMinVersion)
	}
	got, err = zconf.Load(zconf.Source{
		File:    writeConfig(t, `{"TLSCertFile": "c.pem", "TLSKeyFile": "k.pem"}`),
		Environ: []string{"ZINX_TLSCERTFILE=/etc/game/cert.pem", "ZINX_TLSKEYFILE=/etc/game/key.pem", "ZINX_TLSMINVERSION=1.3"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.TLSCertFile != "/etc/game/cert.pem" || got.TLSKeyFile != "/etc/game/key.pem" || got.TLSMinVersion != zconf.TLS13 {
		t.Fatalf("the environment must win over the file: %q %q %q", got.TLSCertFile, got.TLSKeyFile, got.TLSMinVersion)
	}
	for body, want := range map[string]string{
		`{"TLSCertFile": "c.pem"}`:   `TLSKeyFile = ""`,
		`{"TLSKeyFile": "k.pem"}`:    `TLSCertFile = ""`,
		`{"TLSMinVersion": "1.0"}`:   `TLSMinVersion = "1.0"`,
		`{"TLSMinVersion": 1.2}`:     "TLSMinVersion",
		`{"TLSCertFile": ["a.pem"]}`: "TLSCertFile",
	} {
		_, err := zconf.Load(zconf.Source{File: writeConfig(t, body), Environ: []string{}})
		mustContain(t, err, want)
	}
}

// Zinx's CertFile and PrivateKeyFile mean the same as TLSCertFile and
// TLSKeyFile, so a Zinx config that serves TLS still does.
func TestLoadZinxTLSKeys(t *testing.T) {
	got, err := zconf.Load(zconf.Source{
		File:    writeConfig(t, `{"CertFile": "c.pem", "PrivateKeyFile": "k.pem"}`),
		Environ: []string{},
	})
	if err != nil || got.TLSCertFile != "c.pem" || got.TLSKeyFile != "k.pem" {
		t.Fatalf("from the file: %q %q %v", got.TLSCertFile, got.TLSKeyFile, err)
	}
	got, err = zconf.Load(zconf.Source{Environ: []string{"ZINX_CERTFILE=c.pem", "ZINX_PRIVATEKEYFILE=k.pem"}})
	if err != nil || got.TLSCertFile != "c.pem" || got.TLSKeyFile != "k.pem" {
		t.Fatalf("from the environment: %q %q %v", got.TLSCertFile, got.TLSKeyFile, err)
	}
	got, err = zconf.Load(zconf.Source{
		File:    writeConfig(t, `{"CertFile": "zinx.pem", "TLSCertFile": "c.pem", "TLSKeyFile": "k.pem"}`),
		Environ: []string{},
	})
	if err != nil || got.TLSCertFile != "c.pem" {
		t.Fatalf("the canonical key must win: %q %v", got.TLSCertFile, err)
	}
}

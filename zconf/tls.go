package zconf

import (
	"crypto/tls"
	"errors"
	"fmt"
	"os"
)

// tlsVersions maps TLSMinVersion's values to crypto/tls's.
var tlsVersions = map[string]uint16{TLS12: tls.VersionTLS12, TLS13: tls.VersionTLS13}

// TLSEnabled reports whether the listeners serve TLS: TLSCertFile and
// TLSKeyFile are both set.
func (c Config) TLSEnabled() bool { return c.TLSCertFile != "" && c.TLSKeyFile != "" }

// validateTLS checks the TLS keys without reading the files: Validate must
// stay cheap and free of I/O, and a path may be valid only on the machine
// that serves.
func (c Config) validateTLS() []error {
	var errs []error
	// One file without the other is a mistake, not a request for plain
	// TCP: refuse it rather than silently serve unencrypted.
	if c.TLSCertFile == "" && c.TLSKeyFile != "" {
		errs = append(errs, fmt.Errorf(`zconf: TLSCertFile = "": must be set when TLSKeyFile is (%q)`, c.TLSKeyFile))
	}
	if c.TLSKeyFile == "" && c.TLSCertFile != "" {
		errs = append(errs, fmt.Errorf(`zconf: TLSKeyFile = "": must be set when TLSCertFile is (%q)`, c.TLSCertFile))
	}
	if _, ok := tlsVersions[c.TLSMinVersion]; !ok {
		errs = append(errs, fmt.Errorf("zconf: TLSMinVersion = %q: must be one of %q", c.TLSMinVersion, []string{TLS12, TLS13}))
	}
	return errs
}

// NewTLSConfig reads TLSCertFile and TLSKeyFile and returns a server-side
// tls.Config serving that certificate with TLSMinVersion. It returns nil,
// nil when TLS is off. Errors wrap the file system's or crypto/tls's error
// and name the file.
//
// znet.NewServer calls it. Call it yourself to serve a listener you made
// with the configured certificate: tls.NewListener(l, tlsConfig), then
// Server.Serve.
func (c Config) NewTLSConfig() (*tls.Config, error) {
	c = c.WithDefaults() // an empty TLSMinVersion is "1.2"
	if err := errors.Join(c.validateTLS()...); err != nil {
		return nil, err
	}
	if !c.TLSEnabled() {
		return nil, nil
	}
	// Read each file ourselves: tls.LoadX509KeyPair's errors do not always
	// say which of the two files is at fault.
	certPEM, err := os.ReadFile(c.TLSCertFile)
	if err != nil {
		return nil, fmt.Errorf("zconf: reading TLSCertFile: %w", err)
	}
	keyPEM, err := os.ReadFile(c.TLSKeyFile)
	if err != nil {
		return nil, fmt.Errorf("zconf: reading TLSKeyFile: %w", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("zconf: TLS certificate %s with key %s: %w", c.TLSCertFile, c.TLSKeyFile, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tlsVersions[c.TLSMinVersion]}, nil
}

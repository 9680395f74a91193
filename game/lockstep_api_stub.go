// TEMPORARY for the lsbot branch: replaced by the real implementation on merge.

package game

import (
	"errors"
	"log/slog"
)

// LockstepStub is true while this file stands in for the lockstep server;
// examples/lockstep/bot/lockstep_stub_test.go skips the end-to-end test on
// it. Both files are deleted on merge.
const LockstepStub = true

// LockstepConfig is a placeholder for the real one's room defaults and limits.
type LockstepConfig struct{}

// Validate accepts the placeholder.
func (c *LockstepConfig) Validate() error { return nil }

// DefaultLockstepConfig returns the placeholder.
func DefaultLockstepConfig() LockstepConfig { return LockstepConfig{} }

// Lockstep is a placeholder: NewLockstep always fails.
type Lockstep struct{}

// NewLockstep reports that the server is not on this branch.
func NewLockstep(cfg LockstepConfig, log *slog.Logger) (*Lockstep, error) {
	return nil, errors.New("game: the lockstep server is not on this branch (lsbot stub)")
}

// Attach does nothing.
func (l *Lockstep) Attach(m Mux) {}

// Close does nothing.
func (l *Lockstep) Close() {}

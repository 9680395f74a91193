package zconf

import (
	"encoding/json"
	"log/slog"
)

// MinAdminTokenLen is the shortest AdminToken Validate accepts: 16 bytes,
// 128 bits when drawn at random (openssl rand -hex 16 gives 32 bytes), so
// the rate-limited guessing the admin listener allows gets nowhere.
const MinAdminTokenLen = 16

// Secret is a config string that must not be printed or logged, such as
// AdminToken: fmt's verbs and slog show "(set)" when it is set and ""
// when it is not, so a Config dumped into a log line or an error keeps
// it out. JSON shows the same, so a Config written out as JSON does not
// carry the token either (it cannot be read back from there). Compare it with crypto/subtle, not ==, where a client supplies
// the other side.
type Secret string

// String hides the value.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "(set)"
}

// GoString hides the value from %#v too.
func (s Secret) GoString() string { return `"` + s.String() + `"` }

// LogValue hides the value from slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON hides the value from encoding/json (slog's JSON handler
// uses it).
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

package account

import (
	"strconv"
	"testing"
	"time"
)

// The revoked set forgets after revokedKeep and holds at most
// maxRevokedKept, oldest out first: a Logout flood cannot grow it.
func TestRevokedSetIsBounded(t *testing.T) {
	var r revokedSet
	now := time.Now()
	r.add("a", now)
	if !r.has("a", now.Add(revokedKeep)) || r.has("a", now.Add(revokedKeep+time.Second)) {
		t.Fatal("an entry is not kept exactly revokedKeep")
	}
	if r.has("b", now) {
		t.Fatal("found a session never revoked")
	}
	for i := range maxRevokedKept + 10 {
		r.add(strconv.Itoa(i), now)
	}
	if n := len(r.at); n > maxRevokedKept || len(r.order) != n {
		t.Fatalf("%d entries (%d in order), bound %d", n, len(r.order), maxRevokedKept)
	}
	if r.has("0", now) || !r.has(strconv.Itoa(maxRevokedKept+9), now) {
		t.Fatal("the oldest entries did not go first")
	}
	r.add("late", now.Add(revokedKeep+time.Minute)) // everything else has expired
	if len(r.at) != 1 {
		t.Fatalf("%d entries after the rest expired, want 1", len(r.at))
	}
}

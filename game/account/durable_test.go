package account_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/game/account"
	"github.com/zinxgame/zinxgame/game/store"
	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/znet/znettest"
)

// heldSessions is a memory session store whose writes are durable only
// when the test answers its AfterDurable calls (a store.Durability with
// Sync sessions).
type heldSessions struct {
	*store.MemoryStore
	mu      sync.Mutex
	waiting []func(error)
	calls   chan struct{} // one per AfterDurable call
}

func newHeldSessions() *heldSessions {
	return &heldSessions{MemoryStore: store.NewMemoryStore(), calls: make(chan struct{}, 16)}
}

func (h *heldSessions) Mode(k store.Kind) store.Mode {
	if k == store.KindSessions {
		return store.Sync
	}
	return store.Async
}

func (h *heldSessions) AfterDurable(done func(error)) {
	h.mu.Lock()
	h.waiting = append(h.waiting, done)
	h.mu.Unlock()
	h.calls <- struct{}{}
}

// called waits for the next AfterDurable call, failing the test after 5 s.
func (h *heldSessions) called(t *testing.T) {
	t.Helper()
	select {
	case <-h.calls:
	case <-time.After(5 * time.Second):
		t.Fatal("the session store was never asked to make the session durable")
	}
}

// answer answers every call waiting with err.
func (h *heldSessions) answer(err error) {
	h.mu.Lock()
	w := h.waiting
	h.waiting = nil
	h.mu.Unlock()
	for _, done := range w {
		done(err)
	}
}

// TestNewAccountWaitsForDurableSession: with Sync sessions, NewAccount
// returns only once the new session is durable, so LoginAck goes out only
// then; a session that will never be durable is the "login unavailable"
// refusal.
func TestNewAccountWaitsForDurableSession(t *testing.T) {
	hs := newHeldSessions()
	a := tokenAccounts(t, hs, 0)
	type result struct {
		id  account.Identity
		err error
	}
	res := make(chan result, 1)
	go func() {
		id, _, err := a.NewAccount(context.Background(), "ann")
		res <- result{id, err}
	}()
	hs.called(t)
	select {
	case r := <-res:
		t.Fatalf("NewAccount returned %+v before its session was durable", r)
	case <-time.After(50 * time.Millisecond):
	}
	hs.answer(nil)
	r := <-res
	if r.err != nil || r.id.Session == nil {
		t.Fatalf("NewAccount after the session was durable: %+v", r)
	}
	if _, ok, _ := hs.GetSession(context.Background(), r.id.Session.ID); !ok {
		t.Fatal("the session is not stored")
	}

	// A context that ends first fails it.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, _, err := a.NewAccount(ctx, "bob"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("NewAccount with the store holding on past the context: %v", err)
	}
	hs.called(t)
	hs.answer(nil)

	// Over the wire: no LoginAck before the session is durable; a store
	// that fails it refuses the login as unavailable.
	e := start(t, account.Config{}, a, znettest.Config())
	p := e.ts.Dial()
	p.SendProto(testProto.Login, loginMsg("cy"))
	hs.called(t)
	p.ExpectSilence(50 * time.Millisecond)
	hs.answer(errors.New("test: the store closed"))
	expectError(t, p, commonpb.ErrorCode_ERROR_UNAVAILABLE)
	p.SendProto(testProto.Login, loginMsg("cy"))
	hs.called(t)
	hs.answer(nil)
	var ack commonpb.LoginAck
	p.ExpectSkipProto(testProto.LoginAck, &ack)
	if ack.PlayerId == 0 {
		t.Fatalf("LoginAck %v", &ack)
	}
}

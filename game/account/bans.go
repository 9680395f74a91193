package account

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/zinxgame/zinxgame/game/store"
	"github.com/zinxgame/zinxgame/internal/poll"
	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/ziface"
	"github.com/zinxgame/zinxgame/znet"
)

// Player bans. An operator bans a player by ID (POST
// /admin/players/{id}/ban, or BanPlayer): the player is closed with a
// "banned" notice if online, and every Login of that identity is refused
// (a "banned" notice, then Error ERROR_TOKEN_REVOKED, then the close), so
// its tokens stop working for reconnects while the ban lasts. The token
// itself is not revoked: lifting the ban gives the player back its
// identity, its token and any seat still held.
//
// Bans are checked in memory, on the login path, and bounded by
// Config.MaxBans. With LoadBans they are also kept in a document store
// (owner player 0, collection BanCollection, one document per banned
// player keyed by its ID), so they survive a restart when the store does
// (Redis): a DocStore is what the servers already open for game data, and
// unlike the session revocations (revoked.go) a ban must outlive any one
// session and be listable. The store's MaxDocsPerOwner (1,000 by default)
// then bounds them too: keep MaxBans within it.

// BanCollection is the document collection player bans are kept in.
const BanCollection = "account.bans"

// banOwner owns the ban documents: player 0, which no account is.
var banOwner = store.PlayerOwner(0)

// ErrTooManyBans is returned when the service holds Config.MaxBans bans already (or the
// ban store refused one more).
var ErrTooManyBans = errors.New("account: too many player bans")

// PlayerBan is one player's ban.
type PlayerBan struct {
	PlayerID uint64    `json:"player_id,string"`
	Reason   string    `json:"reason"`
	At       time.Time `json:"at"`
	// Until is when the ban expires; zero: until lifted.
	Until time.Time `json:"until,omitzero"`
}

func (b PlayerBan) expired(now time.Time) bool { return !b.Until.IsZero() && !now.Before(b.Until) }

// notice is what the banned player's client is told.
func (b PlayerBan) notice(now time.Time) znet.Notice {
	n := znet.Notice{Code: znet.NoticeBanned, Reason: "you are banned"}
	if b.Reason != "" {
		n.Reason += ": " + b.Reason
	}
	if !b.Until.IsZero() {
		n.RetryAfterMs = max(b.Until.Sub(now).Milliseconds(), 1)
	}
	return n
}

// playerBans is the ban list; safe for concurrent use.
type playerBans struct {
	// changeMu orders the changes (BanPlayer, UnbanPlayer, a refresh) so
	// a refresh's read of the store does not undo one made meanwhile.
	changeMu sync.Mutex
	mu       sync.RWMutex
	m        map[uint64]PlayerBan
	docs     store.DocStore // nil: in memory only
}

// banned returns id's ban in force at now.
func (b *playerBans) banned(id uint64, now time.Time) (PlayerBan, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	ban, ok := b.m[id]
	return ban, ok && !ban.expired(now)
}

// LoadBans keeps player bans in docs from now on, after loading the ones
// it holds (those expired are deleted). Call it once, before serving;
// without it bans are kept in memory and a restart lifts them. Safe for
// concurrent use.
func (s *Service) LoadBans(ctx context.Context, docs store.DocStore) error {
	now := time.Now()
	loaded, expired, err := readBans(ctx, docs, now)
	if err != nil {
		return err
	}
	for _, key := range expired {
		if err := docs.DeleteDoc(ctx, store.DocRef{Collection: BanCollection, Owner: banOwner, Key: key}); err != nil {
			return fmt.Errorf("account: deleting an expired ban: %w", err)
		}
	}
	if len(loaded) > s.cfg.MaxBans {
		return fmt.Errorf("%w: the store holds %d, MaxBans is %d", ErrTooManyBans, len(loaded), s.cfg.MaxBans)
	}
	s.bans.mu.Lock()
	defer s.bans.mu.Unlock()
	for id, ban := range s.bans.m {
		loaded[id] = ban // made before the load: this process's are newer
	}
	s.bans.m, s.bans.docs = loaded, docs
	s.log.Info("account: player bans loaded", "bans", len(loaded), "expired_deleted", len(expired))
	return nil
}

// readBans reads the ban documents: those in force at now by player, and
// the keys of those expired.
func readBans(ctx context.Context, docs store.DocStore, now time.Time) (map[uint64]PlayerBan, []string, error) {
	loaded := make(map[uint64]PlayerBan)
	var expired []string
	after := ""
	for {
		page, more, err := docs.ListDocs(ctx, banOwner, BanCollection, after, 0)
		if err != nil {
			return nil, nil, fmt.Errorf("account: loading the player bans: %w", err)
		}
		for _, d := range page {
			var ban PlayerBan
			if err := json.Unmarshal(d.Value, &ban); err != nil || strconv.FormatUint(ban.PlayerID, 10) != d.Key {
				return nil, nil, fmt.Errorf("account: loading the player bans: document %q is not a ban", d.Key)
			}
			if ban.expired(now) {
				expired = append(expired, d.Key)
				continue
			}
			loaded[ban.PlayerID] = ban
		}
		if !more || len(page) == 0 {
			return loaded, expired, nil
		}
		after = page[len(page)-1].Key
	}
}

// RefreshBans re-reads the player bans from the store LoadBans was given,
// every every (0 or less: DefaultBanRefresh), until ctx
// ends. Servers sharing one store (the replicas of a StatefulSet on one
// Redis) then share their bans: one made or lifted through any of them
// takes effect on the others within every, and a player banned elsewhere
// who is online here is closed with the "banned" notice. A failed read
// keeps the bans as they were, and is logged. It returns nil when ctx
// ends, or an error at once when LoadBans was not called. Safe for
// concurrent use; run one per service.
func (s *Service) RefreshBans(ctx context.Context, every time.Duration) error {
	s.bans.mu.RLock()
	docs := s.bans.docs
	s.bans.mu.RUnlock()
	if docs == nil {
		return errors.New("account: RefreshBans before LoadBans")
	}
	if every <= 0 {
		every = DefaultBanRefresh
	}
	poll.Every(ctx, every, s.log, "account: refreshing the player bans", func(ctx context.Context) error {
		return s.syncBans(ctx, docs)
	})
	return nil
}

// syncBans makes the bans in force in docs the service's, and closes the
// players banned there who are online here.
func (s *Service) syncBans(ctx context.Context, docs store.DocStore) error {
	// changeMu keeps BanPlayer and UnbanPlayer out until the read is the
	// list, so none of theirs is lost; mu, which every login takes, is
	// not held across the read.
	b := &s.bans
	b.changeMu.Lock()
	defer b.changeMu.Unlock()
	now := time.Now()
	loaded, _, err := readBans(ctx, docs, now)
	if err != nil {
		return err
	}
	if len(loaded) > s.cfg.MaxBans { // another server's bound was larger
		return fmt.Errorf("%w: the store holds %d, MaxBans is %d", ErrTooManyBans, len(loaded), s.cfg.MaxBans)
	}
	b.mu.Lock()
	var added []PlayerBan
	for id, ban := range loaded {
		if old, ok := b.m[id]; !ok || old.expired(now) {
			added = append(added, ban)
		}
	}
	b.m = loaded
	b.mu.Unlock()
	for _, ban := range added {
		if c := s.Conn(ban.PlayerID); c != nil {
			closeWithNotice(c, ban.notice(now))
			s.log.Info("account: player banned through the store", "player", ban.PlayerID, "until", ban.Until, "reason", ban.Reason)
		}
	}
	return nil
}

// BanPlayer bans player id for d (0: until lifted) with reason, which the
// player is shown: it is closed with a "banned" notice if online, and its
// logins are refused while the ban lasts. A ban of a banned player
// replaces it. Past MaxBans, or when the ban store refuses it, it fails
// with ErrTooManyBans; a store failure is returned as it is, and the ban
// is not made. It reports whether the player was online. Safe for
// concurrent use.
func (s *Service) BanPlayer(ctx context.Context, id uint64, d time.Duration, reason string) (online bool, err error) {
	if id == 0 {
		return false, errors.New("account: player 0 cannot be banned")
	}
	now := time.Now()
	ban := PlayerBan{PlayerID: id, Reason: reason, At: now.UTC()}
	if d > 0 {
		ban.Until = now.Add(d).UTC()
	}
	b := &s.bans
	b.changeMu.Lock()
	defer b.changeMu.Unlock()
	b.mu.Lock()
	_, replacing := b.m[id]
	if !replacing && len(b.m) >= s.cfg.MaxBans {
		for k, x := range b.m {
			if !x.expired(now) {
				continue
			}
			// Its document goes with it, so the store holds no more bans
			// than memory does, and a store bounded at MaxBans
			// (MaxDocsPerOwner) does not fill with expired ones. A failed
			// delete keeps both, for the next time.
			if b.docs != nil && b.docs.DeleteDoc(ctx, banRef(k)) != nil {
				continue
			}
			delete(b.m, k)
		}
		if len(b.m) >= s.cfg.MaxBans {
			b.mu.Unlock()
			return false, fmt.Errorf("%w: %d held (MaxBans); lift some or wait for them to expire", ErrTooManyBans, s.cfg.MaxBans)
		}
	}
	if b.docs != nil {
		// Under the lock, so two bans of one player reach the store in
		// the order they take effect; the store buffers (Redis), so this
		// does not wait on the network.
		v, _ := json.Marshal(ban)
		if _, err := b.docs.PutDoc(ctx, banRef(id), v); err != nil {
			b.mu.Unlock()
			if errors.Is(err, store.ErrDocOwnerFull) || errors.Is(err, store.ErrDocStoreFull) {
				return false, fmt.Errorf("%w: %w", ErrTooManyBans, err)
			}
			return false, fmt.Errorf("account: saving the ban: %w", err)
		}
	}
	if b.m == nil {
		b.m = make(map[uint64]PlayerBan)
	}
	b.m[id] = ban
	b.mu.Unlock()
	c := s.Conn(id)
	if c != nil {
		closeWithNotice(c, ban.notice(now))
	}
	s.log.Info("account: player banned", "player", id, "until", ban.Until, "reason", reason, "online", c != nil)
	return c != nil, nil
}

// UnbanPlayer lifts id's ban; false when it had none. Safe for concurrent
// use.
func (s *Service) UnbanPlayer(ctx context.Context, id uint64) (bool, error) {
	b := &s.bans
	b.changeMu.Lock()
	defer b.changeMu.Unlock()
	b.mu.Lock()
	defer b.mu.Unlock()
	ban, ok := b.m[id]
	if !ok || ban.expired(time.Now()) {
		return false, nil
	}
	if b.docs != nil {
		if err := b.docs.DeleteDoc(ctx, banRef(id)); err != nil {
			return false, fmt.Errorf("account: deleting the ban: %w", err)
		}
	}
	delete(b.m, id)
	s.log.Info("account: player ban lifted", "player", id)
	return true, nil
}

// PlayerBans lists the bans in force, by player ID. Safe for concurrent
// use.
func (s *Service) PlayerBans() []PlayerBan {
	now := time.Now()
	s.bans.mu.RLock()
	out := make([]PlayerBan, 0, len(s.bans.m))
	for _, ban := range s.bans.m {
		if !ban.expired(now) {
			out = append(out, ban)
		}
	}
	s.bans.mu.RUnlock()
	slices.SortFunc(out, func(x, y PlayerBan) int {
		switch {
		case x.PlayerID < y.PlayerID:
			return -1
		case x.PlayerID > y.PlayerID:
			return 1
		}
		return 0
	})
	return out
}

// Banned reports whether player id is banned now, and the ban. Safe for
// concurrent use.
func (s *Service) Banned(id uint64) (PlayerBan, bool) { return s.bans.banned(id, time.Now()) }

func banRef(id uint64) store.DocRef {
	return store.DocRef{Collection: BanCollection, Owner: banOwner, Key: strconv.FormatUint(id, 10)}
}

// refuseBanned refuses a Login of a banned identity on the worker: the
// notice, the Error, the close.
func (s *Service) refuseBanned(c ziface.IConnection, p Protocol, ban PlayerBan) {
	now := time.Now()
	n := ban.notice(now)
	s.log.Info("account: login refused: banned", "conn_id", c.GetConnID(), "player", ban.PlayerID)
	sendNotice(c, n)
	sendError(c, p.Error, commonpb.ErrorCode_ERROR_TOKEN_REVOKED, n.Reason, p.Login)
	c.Stop()
}

// sendNotice queues a znet notice on c, under its server's NoticeMsgID.
func sendNotice(c ziface.IConnection, n znet.Notice) {
	srv := znet.ServerOf(c)
	if srv == nil {
		return // not a znet server connection: the Error says it
	}
	b, _ := json.Marshal(n) // two strings and a number
	_ = c.SendMsg(srv.Config().NoticeMsgID, b)
}

// closeWithNotice tells c why, then closes it gracefully.
func closeWithNotice(c ziface.IConnection, n znet.Notice) {
	sendNotice(c, n)
	c.Stop()
}

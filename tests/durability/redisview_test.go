package durability

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/game/account/auth"
	"github.com/zinxgame/zinxgame/protocol/lspb"
)

// keyPrefix is the servers' Redis.KeyPrefix (the default).
const keyPrefix = "zinxgame:"

// redisView reads the records the servers wrote, by the keys
// docs/persistence.md documents, with its own go-redis client: nothing of
// the servers' store code is in the way.
type redisView struct {
	rdb    *redis.Client
	tokens *auth.Tokens
}

func newRedisView(t *testing.T, addr string) *redisView {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: 2})
	t.Cleanup(func() { _ = rdb.Close() })
	// Verifying with the servers' secret and no revoker reads the token's
	// session ID (jti) as the servers do.
	tokens, err := auth.NewTokens(auth.Config{Secret: testSecret}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &redisView{rdb: rdb, tokens: tokens}
}

// sessionID is the session a token names: the key of session:<jti>.
func (v *redisView) sessionID(ctx context.Context, token string) (string, error) {
	c, err := v.tokens.Verify(ctx, token)
	if err != nil {
		return "", err
	}
	return c.SessionID, nil
}

// session is the session:<jti> hash (empty when absent).
func (v *redisView) session(ctx context.Context, jti string) (map[string]string, error) {
	return v.rdb.HGetAll(ctx, keyPrefix+"session:"+jti).Result()
}

// match is the match:<id> hash (empty when absent).
func (v *redisView) match(ctx context.Context, id uint64) (map[string]string, error) {
	return v.rdb.HGetAll(ctx, keyPrefix+"match:"+strconv.FormatUint(id, 10)).Result()
}

// player is the player:<id> hash (empty when absent).
func (v *redisView) player(ctx context.Context, id uint64) (map[string]string, error) {
	return v.rdb.HGetAll(ctx, keyPrefix+"player:"+strconv.FormatUint(id, 10)).Result()
}

// frames reads the match's stream frames:<id>: frame number (the entry
// ID's first part) to its inputs.
func (v *redisView) frames(ctx context.Context, matchID uint64) (map[uint32][]*lspb.SlotInput, error) {
	key := keyPrefix + "frames:" + strconv.FormatUint(matchID, 10)
	out := map[uint32][]*lspb.SlotInput{}
	start := "-"
	for {
		msgs, err := v.rdb.XRangeN(ctx, key, start, "+", 1000).Result()
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			ms, seq, ok := strings.Cut(m.ID, "-")
			f, err := strconv.ParseUint(ms, 10, 32)
			if !ok || err != nil || seq != "0" {
				return nil, fmt.Errorf("%s: entry ID %q is not <frame>-0", key, m.ID)
			}
			raw, _ := m.Values["i"].(string)
			// The field holds the frame's repeated SlotInput fields (field 2
			// of FrameInputs), as the clients get them in a batch.
			var fi lspb.FrameInputs
			if err := proto.Unmarshal([]byte(raw), &fi); err != nil {
				return nil, fmt.Errorf("%s: entry %s: %w", key, m.ID, err)
			}
			out[uint32(f)] = fi.Inputs
		}
		if len(msgs) < 1000 {
			return out, nil
		}
		start = "(" + msgs[len(msgs)-1].ID
	}
}

// deleteKey, deleteFrame and setField change Redis behind the servers'
// back: the negative control's tampering.
func (v *redisView) deleteKey(ctx context.Context, key string) error {
	return v.rdb.Del(ctx, keyPrefix+key).Err()
}

func (v *redisView) deleteFrame(ctx context.Context, matchID uint64, frame uint32) error {
	return v.rdb.XDel(ctx, keyPrefix+"frames:"+strconv.FormatUint(matchID, 10), strconv.FormatUint(uint64(frame), 10)+"-0").Err()
}

func (v *redisView) setField(ctx context.Context, key, field, value string) error {
	return v.rdb.HSet(ctx, keyPrefix+key, field, value).Err()
}

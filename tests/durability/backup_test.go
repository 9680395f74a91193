package durability

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zinxgame/zinxgame/game/store"
	"github.com/zinxgame/zinxgame/game/store/redisstore"
	"github.com/zinxgame/zinxgame/internal/redistest"
	"github.com/zinxgame/zinxgame/zconf"
)

// TestBackupRestore follows docs/operations.md's "Backup and restore of the
// Redis data" with the real tools: a snapshot taken with redis-cli --rdb
// while players are being saved, checked by redis-check-rdb, restored into
// a new Redis started with append-only off, append-only turned on with
// CONFIG SET, and that Redis restarted as production runs it (append-only
// on). Every player saved before the snapshot must be there, read back
// through the store. Without the CONFIG SET step the last start comes up
// empty: with append-only on and no append-only file, Redis 7 starts a new
// one and never reads dump.rdb (the test fails so, which is why the
// procedure has that step).
func TestBackupRestore(t *testing.T) {
	for _, tool := range []string{"redis-cli", "redis-check-rdb"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found (Debian's redis-tools, which redis-server depends on): %v", tool, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	src := redistest.Start(t, redistest.Persistent())
	stores := openStores(ctx, t, src.Addr, log)

	const before = 500
	for id := uint64(1); id <= before; id++ {
		if err := stores.Players.SavePlayer(ctx, backupPlayer(id)); err != nil {
			t.Fatal(err)
		}
	}
	if err := stores.Players.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// Saves go on during the snapshot, as on a live server.
	var during atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for id := uint64(before + 1); ; id++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := stores.Players.SavePlayer(ctx, backupPlayer(id)); err != nil {
				return
			}
			during.Store(id)
			time.Sleep(100 * time.Microsecond)
		}
	}()
	time.Sleep(20 * time.Millisecond)

	host, port, _ := strings.Cut(src.Addr, ":")
	snapshot := filepath.Join(t.TempDir(), "zinxgame.rdb")
	if out, err := exec.CommandContext(ctx, "redis-cli", "-h", host, "-p", port, "--rdb", snapshot).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --rdb: %v\n%s", err, out)
	}
	close(stop)
	wg.Wait()
	out, err := exec.CommandContext(ctx, "redis-check-rdb", snapshot).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "RDB looks OK") {
		t.Fatalf("redis-check-rdb: %v\n%s", err, out)
	}
	if err := stores.Close(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("snapshot taken while players %d..%d were being saved", before+1, during.Load())

	// Restore: the snapshot as dump.rdb in a new data directory, loaded with
	// append-only off (with it on, Redis would load the append-only file
	// and ignore the snapshot), then append-only turned on, which writes the
	// append-only file from the restored data.
	dir := t.TempDir()
	copyFile(t, snapshot, filepath.Join(dir, "dump.rdb"))
	first := redistest.Start(t, redistest.DataDir(dir), redistest.Args("--appendonly", "no"))
	rdb := redis.NewClient(&redis.Options{Addr: first.Addr})
	if err := rdb.ConfigSet(ctx, "appendonly", "yes").Err(); err != nil {
		t.Fatal(err)
	}
	waitAOFRewritten(ctx, t, rdb)
	_ = rdb.Close()
	first.Kill()

	restored := redistest.Start(t, redistest.DataDir(dir), redistest.Persistent())
	rs := openStores(ctx, t, restored.Addr, log)
	defer rs.Close(ctx)
	for id := uint64(1); id <= before; id++ {
		got, ok, err := rs.Players.LoadPlayer(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			t.Fatalf("player %d, saved before the snapshot, is missing after the restore", id)
		}
		if want := backupPlayer(id); got.Name != want.Name || got.X != want.X || got.Scene != want.Scene {
			t.Fatalf("player %d restored as %+v, saved as %+v", id, got, want)
		}
	}
}

func openStores(ctx context.Context, t *testing.T, addr string, log *slog.Logger) redisstore.Stores {
	t.Helper()
	rc := zconf.DefaultRedis()
	rc.Addr = addr
	rc.Required = true
	rc.SpillFile = filepath.Join(t.TempDir(), "spill")
	s, err := redisstore.Open(ctx, rc, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func backupPlayer(id uint64) store.PlayerRecord {
	return store.PlayerRecord{ID: id, Name: fmt.Sprintf("p%d", id), Scene: "world", X: float32(id), Y: 1, Z: 2}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// waitAOFRewritten waits until CONFIG SET appendonly yes has written the
// append-only file from the data in memory.
func waitAOFRewritten(ctx context.Context, t *testing.T, rdb *redis.Client) {
	t.Helper()
	for {
		info, err := rdb.Info(ctx, "persistence").Result()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(info, "aof_enabled:1") && strings.Contains(info, "aof_rewrite_in_progress:0") &&
			!strings.Contains(info, "aof_rewrite_scheduled:1") {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the append-only file was not written: %v\n%s", ctx.Err(), info)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

package room_test

import (
	"fmt"
	"time"

	"github.com/zinxgame/zinxgame/game/room"
	"github.com/zinxgame/zinxgame/znet/znettest"
)

// counter is a whole game: every member's input adds to a shared count,
// and every tick tells everyone the count. Embedding BaseLogic gives the
// methods it does not need.
type counter struct {
	room.BaseLogic
	n int
}

func (c *counter) Init(r *room.Room, _ any) error { return r.SetCapacity(2) }

func (c *counter) Input(_ *room.Room, _ room.Player, _ uint32, data []byte) { c.n += len(data) }

func (c *counter) Tick(r *room.Room, frame uint64, _ time.Time) {
	r.Broadcast(2, fmt.Appendf(nil, "frame %d: %d", frame, c.n), 0)
}

// A room type registered by name, a room created by type with its owner,
// a second player matched in by JoinOrCreate, and inputs applied on the
// room's tick. Manual rooms tick when the test says so; served rooms tick
// on the manager's scheduler.
func ExampleManager() {
	m, _ := room.NewManager(room.Config{Manual: true}, nil)
	defer m.Close()
	_ = m.Register("counter", func() room.Logic { return &counter{} }, room.TypeOptions{TickRate: 20})

	ann := znettest.NewRecorder()
	bob := znettest.NewRecorder()
	r, _ := m.JoinOrCreate("counter", "", nil, room.Join{Player: room.Player{ID: 1, Name: "ann"}, Conn: ann}, nil)
	same, _ := m.JoinOrCreate("counter", "", nil, room.Join{Player: room.Player{ID: 2, Name: "bob"}, Conn: bob}, nil)
	fmt.Println("same room:", r == same)

	now := time.Now()
	m.Step(now) // the joins
	_ = m.Input(1, ann, 1, []byte("abc"))
	_ = m.Input(2, bob, 1, []byte("de"))
	m.Step(now.Add(50 * time.Millisecond))
	for _, s := range bob.SentTo(2) {
		fmt.Printf("%s\n", s)
	}
	// Output:
	// same room: true
	// frame 1: 0
	// frame 2: 5
}

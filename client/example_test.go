package client_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/zinxgame/zinxgame/client"
	"github.com/zinxgame/zinxgame/protocol/lspb"
)

// counter is the smallest Game: its state is the number of inputs seen.
type counter struct{ inputs uint64 }

func (g *counter) Start(*lspb.MatchStart) { g.inputs = 0 }
func (g *counter) Step(f client.Frame)    { g.inputs += uint64(len(f.Inputs)) }
func (g *counter) Hash() uint64           { return g.inputs }

// A player logs in, meets others in a room by label, and plays: the client
// reconnects and catches up by itself, so the game only steps frames.
func ExampleDialLockstep() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	g := &counter{}
	c, err := client.DialLockstep(ctx, "127.0.0.1:8999", client.Player{Name: "ann"}, client.Handler{
		Game:       g,
		OnMatchEnd: func(m *lspb.MatchEnd) { fmt.Println("match over:", m.Reason) },
		OnState:    func(s client.State, err error) { fmt.Println("connection:", s, err) },
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if _, err := c.JoinOrCreate(ctx, "duel", &lspb.RoomOptions{MaxPlayers: 2}); err != nil {
		log.Fatal(err)
	}
	if err := c.Ready(true); err != nil {
		log.Fatal(err)
	}
	for range 10 {
		if _, err := c.Input([]byte{1}); err != nil {
			log.Println("input not sent:", err) // the connection is down; the client is reconnecting
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Println("keep this to resume the player later:", c.Token())
}

// A swarm shares one Dialer: one network client for every bot's connection.
func ExampleDialer() {
	d, err := client.NewDialer(client.Config{Backoff: client.Backoff{Attempts: 5}})
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	for i := range 100 {
		_, err := d.DialLockstep(context.Background(), "ws://127.0.0.1:9000/", client.Player{Name: fmt.Sprint("bot-", i)}, client.Handler{})
		if err != nil {
			log.Fatal(err)
		}
	}
}

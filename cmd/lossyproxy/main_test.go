package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/internal/lossy"
)

func TestRunRefuses(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{nil, "no proxy"},
		{[]string{"-udp", "127.0.0.1:0"}, "listen=target"},
		{[]string{"-udp", "0.0.0.0:0=127.0.0.1:9"}, "not loopback"},
		{[]string{"-tcp", "127.0.0.1:0=10.1.2.3:80"}, "not loopback"},
		{[]string{"-udp", "127.0.0.1:0=127.0.0.1:9", "-duration", "0s"}, "-duration"},
		{[]string{"-udp", "127.0.0.1:0=127.0.0.1:9", "-profile", "loss=2"}, "out of range"},
		{[]string{"-udp", "127.0.0.1:0=127.0.0.1:9", "extra"}, "unexpected"},
	}
	for _, c := range cases {
		var out bytes.Buffer
		err := run(context.Background(), c.args, &out)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("run(%q) = %v, want an error containing %q", c.args, err, c.want)
		}
	}
	var out bytes.Buffer
	err := run(context.Background(), []string{"-tcp", "192.168.1.1:0=127.0.0.1:9"}, &out)
	if !errors.Is(err, lossy.ErrNotLoopback) {
		t.Errorf("non-loopback listen: %v, want ErrNotLoopback", err)
	}
}

func TestRunRelaysUntilDuration(t *testing.T) {
	target, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	// A fixed free port for the proxy: run does not report the one it picks.
	probe, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	listen := probe.LocalAddr().String()
	_ = probe.Close()

	var out bytes.Buffer
	done := make(chan error, 1)
	start := time.Now()
	const duration = 500 * time.Millisecond
	go func() {
		done <- run(context.Background(), []string{"-udp", listen + "=" + target.LocalAddr().String(),
			"-profile", "delay=5ms", "-duration", duration.String(), "-stats", "100ms"}, &out)
	}()
	c, err := net.Dial("udp", listen)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 16)
	_ = target.SetReadDeadline(time.Now().Add(10 * time.Second))
	// The proxy may not be listening yet: resend until one datagram arrives.
	got := make(chan error, 1)
	go func() {
		_, _, err := target.ReadFrom(buf)
		got <- err
	}()
	for sent := false; !sent; {
		_, _ = c.Write([]byte("ping"))
		select {
		case err := <-got:
			if err != nil {
				t.Fatal(err)
			}
			sent = true
		case <-time.After(20 * time.Millisecond):
		}
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not stop after -duration")
	}
	if d := time.Since(start); d < duration {
		t.Fatalf("run returned after %v, before -duration %v", d, duration)
	}
	if !strings.Contains(out.String(), "udp stats") {
		t.Fatalf("no stats logged:\n%s", out.String())
	}
}

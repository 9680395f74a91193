package lossy

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseProfile(t *testing.T) {
	cases := []struct {
		in      string
		want    Profile
		wantErr string
	}{
		{in: "", want: Profile{}},
		{in: "   ", want: Profile{}},
		{in: "loss=5%,delay=30ms,jitter=20ms,reorder=1%", want: Profile{Loss: 0.05, Delay: 30 * time.Millisecond, Jitter: 20 * time.Millisecond, Reorder: 0.01}},
		{in: "loss=0.2", want: Profile{Loss: 0.2}},
		{in: " delay = 1s , seed=42 ", want: Profile{Delay: time.Second, Seed: 42}},
		{in: "LOSS=100%", want: Profile{Loss: 1}},
		{in: "reorder=0", want: Profile{}},
		{in: "seed=-7", want: Profile{Seed: -7}},
		{in: "loss", wantErr: "want key=value"},
		{in: "loss=", wantErr: "empty value"},
		{in: "loss=abc", wantErr: "loss="},
		{in: "loss=101%", wantErr: "out of range"},
		{in: "loss=-0.1", wantErr: "out of range"},
		{in: "loss=NaN", wantErr: "out of range"},
		{in: "loss=inf", wantErr: "out of range"},
		{in: "reorder=2", wantErr: "out of range"},
		{in: "delay=-1ms", wantErr: "out of range"},
		{in: "jitter=-1ms", wantErr: "out of range"},
		{in: "delay=2h", wantErr: "out of range"},
		{in: "delay=30", wantErr: "delay="},
		{in: "loss=1%,loss=2%", wantErr: "given twice"},
		{in: "bandwidth=1mbit", wantErr: "unknown profile key"},
		{in: "loss=1%,", wantErr: "want key=value"},
		{in: "seed=1.5", wantErr: "seed="},
		{in: strings.Repeat("loss=1%,", 40), wantErr: "longer than"},
	}
	for _, c := range cases {
		got, err := ParseProfile(c.in)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("ParseProfile(%q) error = %v, want one containing %q", c.in, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseProfile(%q): %v", c.in, err)
			continue
		}
		if got != c.want {
			t.Errorf("ParseProfile(%q) = %+v, want %+v", c.in, got, c.want)
		}
	}
}

func TestProfileValidate(t *testing.T) {
	good := []Profile{{}, {Loss: 1, Reorder: 1, Delay: time.Minute, Jitter: time.Minute}}
	for _, p := range good {
		if err := p.Validate(); err != nil {
			t.Errorf("%+v: %v", p, err)
		}
	}
	bad := []Profile{{Loss: -0.01}, {Loss: 1.01}, {Reorder: -1}, {Reorder: 1.5}, {Delay: -1}, {Jitter: -1}, {Delay: time.Minute + 1}}
	for _, p := range bad {
		if err := p.Validate(); err == nil {
			t.Errorf("%+v: no error", p)
		}
	}
	if _, err := ListenUDP("127.0.0.1:0", "127.0.0.1:9", Profile{Loss: 2}); err == nil {
		t.Error("ListenUDP accepted an invalid profile")
	}
}

func TestProfileStringRoundTrip(t *testing.T) {
	ps := []Profile{
		{},
		{Loss: 0.05, Delay: 30 * time.Millisecond, Jitter: 20 * time.Millisecond, Reorder: 0.01, Seed: 3},
		{Loss: 1.0 / 3},
		{Loss: 0.001, Delay: 1500 * time.Microsecond},
	}
	for _, p := range ps {
		s := p.String()
		back, err := ParseProfile(s)
		if err != nil || back != p {
			t.Errorf("%+v -> %q -> %+v, %v", p, s, back, err)
		}
	}
	if s := (Profile{Loss: 0.05, Delay: 30 * time.Millisecond}).String(); s != "loss=5%,delay=30ms" {
		t.Errorf("String = %q", s)
	}
}

func TestLoopbackAddrPort(t *testing.T) {
	good := []string{"127.0.0.1:0", "127.1.2.3:80", "[::1]:9000", "localhost:1", "[::ffff:127.0.0.1]:5"}
	for _, a := range good {
		if _, err := loopbackAddrPort(a); err != nil {
			t.Errorf("%q: %v", a, err)
		}
	}
	notLoop := []string{":0", "0.0.0.0:0", "10.0.0.1:1", "8.8.8.8:53", "[::]:1", "example.com:80", "[fe80::1%lo]:1", "128.0.0.1:1"}
	for _, a := range notLoop {
		if _, err := loopbackAddrPort(a); !errors.Is(err, ErrNotLoopback) {
			t.Errorf("%q: error %v, want ErrNotLoopback", a, err)
		}
	}
	for _, a := range []string{"127.0.0.1", "127.0.0.1:http", "127.0.0.1:70000"} {
		if _, err := loopbackAddrPort(a); err == nil {
			t.Errorf("%q: no error", a)
		}
	}
}

func FuzzParseProfile(f *testing.F) {
	for _, s := range []string{"", "loss=5%,delay=30ms,jitter=20ms,reorder=1%", "seed=1", "loss=0.5", "delay=1h", "a=b=c", ",,,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseProfile(s)
		if err != nil {
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("ParseProfile(%q) returned an invalid profile: %v", s, err)
		}
		back, err := ParseProfile(p.String())
		if err != nil || back != p {
			t.Fatalf("round trip of %q: %+v -> %q -> %+v, %v", s, p, p.String(), back, err)
		}
	})
}

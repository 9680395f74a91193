package account_test

import (
	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"testing"

	"google.golang.org/protobuf/proto"
)

func mustMarshal(m proto.Message) []byte {
	b, err := proto.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

func unmarshal(t *testing.T, b []byte, m proto.Message) {
	t.Helper()
	if err := proto.Unmarshal(b, m); err != nil {
		t.Fatal(err)
	}
}

func loginMsg(name string) *commonpb.Login { return &commonpb.Login{Name: name} }

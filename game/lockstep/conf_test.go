package lockstep

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"

	"github.com/zinxgame/zinxgame/game/account"
	"github.com/zinxgame/zinxgame/zconf"
)

// TestLockstepConfigFile keeps conf/lockstep.json's Lockstep section the
// complete reference: every Config field, each at its default.
func TestLockstepConfigFile(t *testing.T) {
	b, err := os.ReadFile("../../conf/lockstep.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct{ Lockstep map[string]any }
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	for _, f := range reflect.VisibleFields(reflect.TypeFor[Config]()) {
		if _, ok := file.Lockstep[f.Name]; !ok {
			t.Errorf("conf/lockstep.json's Lockstep section lacks %s", f.Name)
		}
	}
	got := DefaultConfig()
	if _, err := zconf.Load(zconf.Source{File: "../../conf/lockstep.json", Logger: discardLog(),
		Sections: map[string]any{"Lockstep": &got, "Account": new(account.Config)}}); err != nil {
		t.Fatal(err)
	}
	if want := DefaultConfig(); got != want {
		t.Fatalf("conf/lockstep.json's Lockstep section loads as\n%+v\nwant the defaults\n%+v", got, want)
	}
}

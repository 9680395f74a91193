// TEMPORARY for the lsbot branch: delete together with
// game/lockstep_api_stub.go on merge (TestRunServe then runs).

package main

import "github.com/zinxgame/zinxgame/game"

func init() { lockstepStub = game.LockstepStub }

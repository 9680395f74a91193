package main

import (
	"errors"

	"github.com/zinxgame/zinxgame/client"
)

// refusal names why the server turned a bot away, for the report's
// failure counts: an operator's ban or maintenance is not a fault of the
// server under test, and a run against a server in maintenance should say
// so rather than look broken.
func refusal(what string, err error) string {
	switch {
	case errors.Is(err, client.ErrBanned):
		return what + " (banned)"
	case errors.Is(err, client.ErrMaintenance):
		return what + " (maintenance)"
	}
	return what
}

package client

import (
	"errors"
	"fmt"

	"github.com/zinxgame/zinxgame/protocol/commonpb"
)

var (
	// ErrKicked: the server kicked the player (a "kicked" notice); the
	// client does not reconnect.
	ErrKicked = errors.New("client: kicked by the server")
	// ErrBanned: an operator banned the player or its address (a "banned"
	// notice, then a refused login or a closed connection); the client
	// does not reconnect. The error's text carries the server's reason.
	ErrBanned = errors.New("client: banned by the server")
	// ErrMaintenance: the server is in maintenance and refused the login
	// (a "maintenance" notice, then ERROR_UNAVAILABLE). A reconnection
	// keeps trying on the Backoff schedule: maintenance ends.
	ErrMaintenance = errors.New("client: the server is in maintenance")
	// ErrNoSeat: a reconnection found no seat held any more (the grace
	// ran out, or the server restarted without the match); the match is
	// over for this client, which stays logged in.
	ErrNoSeat = errors.New("client: no seat is held any more")
	// ErrTimeout: a request got no answer within RequestTimeout.
	ErrTimeout = errors.New("client: no answer in time")
	// errLost: the connection a request was waiting on closed.
	errLost = errors.New("client: connection lost")
)

// ServerError is an Error message the server answered a request with.
type ServerError struct {
	Code    commonpb.ErrorCode
	Message string
	Request uint32 // the message ID of the request it answers
}

func (e *ServerError) Error() string {
	return fmt.Sprintf("client: server refused %d: %s: %s", e.Request, e.Code, e.Message)
}

// Is matches another *ServerError with the same Code, so
// errors.Is(err, &ServerError{Code: commonpb.ErrorCode_ERROR_ROOM_FULL})
// tests for a code.
func (e *ServerError) Is(target error) bool {
	t, ok := target.(*ServerError)
	return ok && t.Code == e.Code
}

// Code returns the server's error code in err, or ERROR_UNSPECIFIED when
// err is not a server's refusal.
func Code(err error) commonpb.ErrorCode {
	var se *ServerError
	if errors.As(err, &se) {
		return se.Code
	}
	return commonpb.ErrorCode_ERROR_UNSPECIFIED
}

// permanent reports whether a login refusal makes reconnecting pointless.
func permanent(err error) bool {
	switch Code(err) {
	case commonpb.ErrorCode_ERROR_BAD_TOKEN, commonpb.ErrorCode_ERROR_TOKEN_EXPIRED,
		commonpb.ErrorCode_ERROR_TOKEN_REVOKED, commonpb.ErrorCode_ERROR_NAME_TOO_LONG:
		return true
	}
	return errors.Is(err, ErrKicked) || errors.Is(err, ErrBanned) || errors.Is(err, ErrClosed)
}

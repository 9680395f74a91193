package mmo

import (
	"encoding/binary"
	"errors"
	"log/slog"
	"math"
	"time"
	"unicode/utf8"

	"golang.org/x/time/rate"
	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/game/room"
	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/protocol/mmopb"
	"github.com/zinxgame/zinxgame/ziface"
	"github.com/zinxgame/zinxgame/znet"
)

// The routes run on the connection's worker, many at once. They check
// and encode what they can there, in parallel, so a scene's tick only
// applies: a malformed message is refused before it costs the scene
// anything, and a chat reaches the tick as the broadcast it becomes.

// handleTalk is the router for message 2: chat to every player of the
// sender's scene (the sender too). Empty, over-long or non-UTF-8 text and
// chats over the player's rate are refused, counted, and logged at a
// bounded rate.
func (w *World) handleTalk(req ziface.IRequest) {
	p := playerOf(req.GetConnection())
	if p == nil {
		return
	}
	var talk mmopb.Talk
	if err := proto.Unmarshal(req.GetData(), &talk); err != nil {
		w.refuse(p, "bad_talk", req.GetMsgID(), commonpb.ErrorCode_ERROR_BAD_REQUEST, "game: bad Talk message", err)
		return
	}
	n := utf8.RuneCountInString(talk.Content)
	if n == 0 || n > w.cfg.MaxChatLen || !utf8.ValidString(talk.Content) {
		w.refuse(p, "chat_refused", req.GetMsgID(), commonpb.ErrorCode_ERROR_BAD_REQUEST,
			"game: chat refused: empty, too long or not UTF-8", nil, "chars", n, "max", w.cfg.MaxChatLen)
		return
	}
	if w.cfg.ChatRate != Disabled {
		if p.chat == nil { // only this connection's worker touches it
			p.chat = rate.NewLimiter(rate.Limit(w.cfg.ChatRate), w.cfg.ChatBurst)
		}
		if !p.chat.AllowN(time.Now(), 1) {
			w.refuse(p, "chat_rate_limited", req.GetMsgID(), commonpb.ErrorCode_ERROR_RATE_LIMITED, "game: chat refused: over the player's chat rate", nil,
				"chat_rate", w.cfg.ChatRate, "chat_burst", w.cfg.ChatBurst)
			return
		}
	}
	bc := marshal(&mmopb.BroadCast{PID: p.PID, Tp: mmopb.TpChat, Data: &mmopb.BroadCast_Content{Content: talk.Content}})
	if max := w.pack.Load().MaxPayload(); len(bc) > max {
		// MaxChatLen allows more characters than one packet holds.
		w.refuse(p, "chat_refused", req.GetMsgID(), commonpb.ErrorCode_ERROR_BAD_REQUEST,
			"game: chat refused: longer than a packet holds", nil, "bytes", len(bc), "max_package_size", max)
		return
	}
	w.queue(p, req.GetMsgID(), bc)
}

// handleMove is the router for message 3. NaN or infinite coordinates are
// refused; the rest reaches the tick as 16 bytes (see encodeMove).
func (w *World) handleMove(req ziface.IRequest) {
	p := playerOf(req.GetConnection())
	if p == nil {
		return
	}
	var pos mmopb.Position
	if err := proto.Unmarshal(req.GetData(), &pos); err != nil {
		w.refuse(p, "bad_move", req.GetMsgID(), commonpb.ErrorCode_ERROR_BAD_REQUEST, "game: bad Position message", err)
		return
	}
	if !finite(pos.X) || !finite(pos.Y) || !finite(pos.Z) || !finite(pos.V) {
		w.refuse(p, "move_refused", req.GetMsgID(), commonpb.ErrorCode_ERROR_BAD_REQUEST, "game: move refused: NaN or infinite coordinate", nil)
		return
	}
	w.queue(p, req.GetMsgID(), encodeMove(Position{X: pos.X, Y: pos.Y, Z: pos.Z, V: pos.V}))
}

// handleChangeScene is the router for message 15.
func (w *World) handleChangeScene(req ziface.IRequest) {
	p := playerOf(req.GetConnection())
	if p == nil {
		return
	}
	var cs mmopb.ChangeScene
	if err := proto.Unmarshal(req.GetData(), &cs); err != nil {
		w.refuse(p, "bad_change_scene", req.GetMsgID(), commonpb.ErrorCode_ERROR_BAD_REQUEST, "game: bad ChangeScene message", err)
		return
	}
	if w.scenes[cs.Scene] == nil {
		w.refuse(p, "no_such_scene", req.GetMsgID(), commonpb.ErrorCode_ERROR_ROOM_NOT_FOUND, "game: no such scene", nil, "scene", cs.Scene)
		return
	}
	w.queue(p, req.GetMsgID(), []byte(cs.Scene))
}

// handleApp routes an application's message to its scene.
func (w *World) handleApp(req ziface.IRequest) {
	if p := playerOf(req.GetConnection()); p != nil {
		w.queue(p, req.GetMsgID(), req.GetData())
	}
}

// queue hands a checked request to the player's scene.
func (w *World) queue(p *Player, msgID uint32, data []byte) {
	err := w.rooms.Input(memberID(p.PID), p.Conn, msgID, data)
	switch {
	case err == nil:
	case errors.Is(err, room.ErrBusy):
		w.refuse(p, "busy", msgID, commonpb.ErrorCode_ERROR_BUSY, "game: the scene's queue is full", nil)
	case errors.Is(err, room.ErrRateLimited):
		w.refuse(p, "rate_limited", msgID, commonpb.ErrorCode_ERROR_RATE_LIMITED, "game: too many requests", nil)
	case errors.Is(err, room.ErrNotInRoom):
		// Between two scenes, or not placed yet after a full scene: the
		// request is dropped, counted but not worth a line.
		w.met.refused.WithLabelValues("not_in_scene").Inc()
	default:
		w.refuse(p, "closed", msgID, commonpb.ErrorCode_ERROR_UNAVAILABLE, "game: the scene is not taking requests", err)
	}
}

// refuse counts a refused request, logs it at a bounded rate per
// connection, and tells the player (Error, 12, with the request's ID) at a
// bounded rate too (replyRate): an honest client hears why, and a flood of
// bad requests is not answered by a flood of replies.
func (w *World) refuse(p *Player, cause string, msgID uint32, code commonpb.ErrorCode, msg string, err error, args ...any) {
	w.met.refused.WithLabelValues(cause).Inc()
	args = append(args, "pid", p.PID, "msg_id", msgID)
	if err != nil {
		args = append(args, "err", err)
	}
	znet.LogLimited(p.Conn, w.log, cause, slog.LevelWarn, msg, args...)
	if p.replies == nil { // only this connection's worker touches it
		p.replies = rate.NewLimiter(replyRate, replyBurst)
	}
	if p.replies.Allow() {
		_ = p.Conn.SendMsg(w.id(mmopb.MsgMmoError), errorPayload(code, msgID, msg))
	}
}

// replyRate and replyBurst bound the Error replies to one player's refused
// requests.
const (
	replyRate  = rate.Limit(2)
	replyBurst = 10
)

// encodeMove is a checked move as the tick reads it: X, Y, Z and V as
// little-endian float32s. The tick decodes it without protobuf.
func encodeMove(p Position) []byte {
	b := make([]byte, 16)
	binary.LittleEndian.PutUint32(b[0:], math.Float32bits(p.X))
	binary.LittleEndian.PutUint32(b[4:], math.Float32bits(p.Y))
	binary.LittleEndian.PutUint32(b[8:], math.Float32bits(p.Z))
	binary.LittleEndian.PutUint32(b[12:], math.Float32bits(p.V))
	return b
}

func decodeMove(b []byte) (Position, bool) {
	if len(b) != 16 {
		return Position{}, false
	}
	f := func(i int) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b[i:])) }
	return Position{X: f(0), Y: f(4), Z: f(8), V: f(12)}, true
}

func errorPayload(code commonpb.ErrorCode, reqID uint32, msg string) []byte {
	return marshal(&commonpb.Error{Code: code, Message: msg, RequestId: reqID})
}

// codeOf maps a room runtime error to the protocol's code.
func codeOf(err error) commonpb.ErrorCode {
	switch {
	case errors.Is(err, room.ErrRoomFull):
		return commonpb.ErrorCode_ERROR_ROOM_FULL
	case errors.Is(err, room.ErrRateLimited):
		return commonpb.ErrorCode_ERROR_RATE_LIMITED
	case errors.Is(err, room.ErrBusy):
		return commonpb.ErrorCode_ERROR_BUSY
	case errors.Is(err, room.ErrRoomNotFound):
		return commonpb.ErrorCode_ERROR_ROOM_NOT_FOUND
	}
	return commonpb.ErrorCode_ERROR_UNAVAILABLE
}

func marshal(m proto.Message) []byte {
	b, err := proto.Marshal(m)
	if err != nil {
		// Our own messages always marshal.
		panic(err)
	}
	return b
}

func finite(f float32) bool {
	return !math.IsNaN(float64(f)) && !math.IsInf(float64(f), 0)
}

package durability

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/protocol/mmopb"
)

// mmoConn is one MMO player over TCP, speaking the Zinx MMO demo's wire
// format by hand ([DataLen uint32 LE][MsgID uint32 LE][protobuf]), as a
// Zinx client would. Not safe for concurrent use: one goroutine drives it.
type mmoConn struct {
	c       net.Conn
	r       *bufio.Reader
	pid     int32  // the world's player ID (SyncPID, message 1)
	account uint64 // the account (LoginAck)
	token   string
}

// mmoWait bounds every wait for the server.
const mmoWait = 10 * time.Second

// dialMMO connects and reads the SyncPID the world greets with.
func dialMMO(addr string) (*mmoConn, error) {
	c, err := net.DialTimeout("tcp", addr, mmoWait)
	if err != nil {
		return nil, err
	}
	m := &mmoConn{c: c, r: bufio.NewReaderSize(c, 64<<10)}
	var sync mmopb.SyncPID
	if err := m.expect(mmopb.MsgSyncPID, &sync, nil); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("mmo: greeting: %w", err)
	}
	m.pid = sync.PID
	return m, nil
}

func (m *mmoConn) close() { _ = m.c.Close() }

func (m *mmoConn) send(id uint32, msg proto.Message) error {
	data, err := proto.Marshal(msg)
	if err != nil {
		return err
	}
	b := make([]byte, 8, 8+len(data))
	binary.LittleEndian.PutUint32(b[0:], uint32(len(data)))
	binary.LittleEndian.PutUint32(b[4:], id)
	_ = m.c.SetWriteDeadline(time.Now().Add(mmoWait))
	_, err = m.c.Write(append(b, data...))
	return err
}

func (m *mmoConn) recv() (uint32, []byte, error) {
	_ = m.c.SetReadDeadline(time.Now().Add(mmoWait))
	var head [8]byte
	if _, err := io.ReadFull(m.r, head[:]); err != nil {
		return 0, nil, err
	}
	n := binary.LittleEndian.Uint32(head[0:])
	if n > 1<<20 {
		return 0, nil, fmt.Errorf("mmo: a %d-byte message", n)
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(m.r, data); err != nil {
		return 0, nil, err
	}
	return binary.LittleEndian.Uint32(head[4:]), data, nil
}

// expect reads until message id arrives and decodes it into out (when
// match, if set, accepts it); an Error (12) first is returned as one.
func (m *mmoConn) expect(id uint32, out proto.Message, match func() bool) error {
	for {
		got, data, err := m.recv()
		if err != nil {
			return err
		}
		switch got {
		case id:
			if err := proto.Unmarshal(data, out); err != nil {
				return err
			}
			if match == nil || match() {
				return nil
			}
		case mmopb.MsgMmoError:
			var e commonpb.Error
			_ = proto.Unmarshal(data, &e)
			if id != mmopb.MsgMmoError {
				return fmt.Errorf("mmo: server error %s: %s", e.Code, e.Message)
			}
		}
	}
}

// login logs in as name (a new account) or with token (an existing one).
func (m *mmoConn) login(name, token string) error {
	if err := m.send(mmopb.MsgMmoLogin, &commonpb.Login{Name: name, Token: token}); err != nil {
		return err
	}
	var ack commonpb.LoginAck
	if err := m.expect(mmopb.MsgMmoLoginAck, &ack, nil); err != nil {
		return fmt.Errorf("mmo: login: %w", err)
	}
	if ack.PlayerId == 0 || ack.Token == "" {
		return errors.New("mmo: LoginAck without an account or token")
	}
	m.account, m.token = ack.PlayerId, ack.Token
	return nil
}

// moveConfirmed moves to (x, z) and waits until the world has applied the
// move: a world chat sent after it comes back to the sender, and the world
// handles one connection's messages in order.
func (m *mmoConn) moveConfirmed(x, z float32, barrier string) error {
	if err := m.send(mmopb.MsgMove, &mmopb.Position{X: x, Z: z}); err != nil {
		return err
	}
	if err := m.send(mmopb.MsgTalk, &mmopb.Talk{Content: barrier}); err != nil {
		return err
	}
	var b mmopb.BroadCast
	err := m.expect(mmopb.MsgBroadCast, &b, func() bool {
		return b.PID == m.pid && b.Tp == mmopb.TpChat && b.GetContent() == barrier
	})
	if err != nil {
		return fmt.Errorf("mmo: waiting for the move's barrier: %w", err)
	}
	return nil
}

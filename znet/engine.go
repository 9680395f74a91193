package znet

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/ants/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/ziface"
)

// engine is what Server and Client share: configuration, packing, routes,
// hooks, the worker pool, the blocking pool and the connection manager.
// Its exported methods are promoted to both.
type engine struct {
	cfg   zconf.Config
	log   *slog.Logger
	pack  *DataPack
	mux   mux
	mgr   *ConnManager
	sched *scheduler // nil when WorkerPoolSize = 0
	stats stats

	onStart atomic.Pointer[func(ziface.IConnection)]
	onStop  atomic.Pointer[func(ziface.IConnection)]

	nextID atomic.Uint64
	// clock is a coarse Unix-ms clock the keep-alive sweeper advances, so
	// the read path never calls time.Now for it.
	clock       atomic.Int64
	sweeperDone chan struct{} // nil when no sweeper runs
	// answerPings is set on servers: they answer PingMsgID themselves. A
	// client passes the pong to its routers (to time it) instead of
	// answering it, or the two would ping-pong forever.
	answerPings bool
	conns       sync.WaitGroup // one per live connection, done after OnConnStop

	blockingMu     sync.Mutex
	blocking       *ants.Pool
	blockingClosed bool

	metricsReg    prometheus.Registerer // from WithMetrics
	gatherer      prometheus.Gatherer   // what /metrics serves; nil without one
	metrics       *metrics              // nil when metrics are off
	isReady       func() bool           // the server's readiness; nil on clients
	trafficMu     sync.RWMutex
	closedTraffic traffic // what closed connections sent and received
}

// Option configures a Server or Client beyond its zconf.Config.
type Option func(*engine)

// WithLogger sets the logger. The default is built from the config's
// LogLevel and LogFormat, writing to stderr.
func WithLogger(l *slog.Logger) Option {
	return func(e *engine) { e.log = l }
}

func newEngine(cfg zconf.Config, opts []Option) (*engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	e := &engine{
		cfg:  cfg,
		pack: NewDataPack(cfg.Framing, cfg.MaxPackageSize),
		mgr:  newConnManager(cfg.MaxConn),
	}
	for _, o := range opts {
		o(e)
	}
	if e.log == nil {
		e.log = cfg.NewLogger(os.Stderr)
	}
	if err := e.setupMetrics(); err != nil {
		return nil, err
	}
	if cfg.WorkerPoolSize > 0 {
		e.sched = newScheduler(cfg.WorkerPoolSize, cfg.MaxConn)
	}
	return e, nil
}

// AddRouter registers a Zinx-style router for msgID. Registering an ID
// twice panics, as http.ServeMux does for a pattern.
func (e *engine) AddRouter(msgID uint32, r ziface.IRouter) {
	e.mux.handle(msgID, RouterHandler(r))
}

// AddRouterFunc registers a handler function for msgID.
func (e *engine) AddRouterFunc(msgID uint32, h func(ziface.IRequest)) {
	e.mux.handle(msgID, h)
}

// Use appends middleware around every handler, the first added outermost.
func (e *engine) Use(mws ...Middleware) { e.mux.use(mws...) }

// SetNotFound sets the handler for message IDs with no route. Without one,
// such messages are counted, logged once per connection and dropped.
func (e *engine) SetNotFound(h func(ziface.IRequest)) { e.mux.setNotFound(h) }

// SetOnConnStart sets the hook run once per connection before its first
// message is handled. Over TLS it runs after the handshake (the
// connection's GetConnection is a *tls.Conn whose ConnectionState is
// complete); a client whose handshake fails gets neither hook.
func (e *engine) SetOnConnStart(hook func(ziface.IConnection)) { e.onStart.Store(&hook) }

// SetOnConnStop sets the hook run once per connection whose OnConnStart
// ran, after its last message was handled and its socket closed.
func (e *engine) SetOnConnStop(hook func(ziface.IConnection)) { e.onStop.Store(&hook) }

// GetConnMgr returns the connection manager.
func (e *engine) GetConnMgr() ziface.IConnManager { return e.mgr }

// DataPack returns the packer in use.
func (e *engine) DataPack() *DataPack { return e.pack }

// Config returns the configuration in use.
func (e *engine) Config() zconf.Config { return e.cfg }

// Broadcast packs one message once and queues it on every connection. It
// returns how many connections accepted it.
func (e *engine) Broadcast(msgID uint32, data []byte) (int, error) {
	frame, err := e.pack.AppendPack(nil, msgID, data)
	if err != nil {
		return 0, err
	}
	n := 0
	e.mgr.Range(func(c ziface.IConnection) bool {
		if c.(*Connection).sendFrame(frame) == nil {
			n++
		}
		return true
	})
	return n, nil
}

// runTask executes one task on a connection's executor.
func (e *engine) runTask(c *Connection, t *task) {
	if t.req.conn != nil {
		e.dispatch(c, &t.req)
		return
	}
	if t.fn != nil {
		defer e.recoverPanic(c, 0, "Async completion")
		t.fn()
	}
}

func (e *engine) dispatch(c *Connection, req *request) {
	if id := req.msgID; id != 0 && (id == e.cfg.PingMsgID || id == e.cfg.ServerPingMsgID) && e.control(c, req) {
		return
	}
	defer e.recoverPanic(c, req.msgID, "handler")
	h := e.mux.lookup(req.msgID)
	if h == nil {
		e.stats.unknownMsgs.Add(1)
		if !c.unknownID {
			c.unknownID = true
			c.log.Warn("znet: no route for message ID; dropped (logged once per connection)", "msg_id", req.msgID)
		}
		return
	}
	if m := e.metrics; m != nil {
		c.sample++
		if c.sample%handlerSample == 1 {
			start := time.Now()
			h(req)
			m.observeHandler(req.msgID, time.Since(start))
			return
		}
	}
	h(req)
}

// control handles the framework's own keep-alive messages and reports
// whether req was one. A server answers a client's ping (PingMsgID) with a
// pong and takes a client's echo of its own ping (ServerPingMsgID) as the
// pong, timing it. A client echoes the server's ping and passes pongs to
// its routers. Neither side answers an answer, so nothing loops.
func (e *engine) control(c *Connection, req *request) bool {
	switch {
	case e.answerPings && req.msgID == e.cfg.PingMsgID:
		_ = c.SendMsg(req.msgID, req.data) // pong; keeps routers out of keep-alive
		return true
	case e.answerPings && req.msgID == e.cfg.ServerPingMsgID && e.cfg.ServerPingInterval > 0:
		if m := e.metrics; m != nil && len(req.data) == 8 {
			sent := time.UnixMicro(int64(binary.LittleEndian.Uint64(req.data)))
			if rtt := time.Since(sent); rtt >= 0 && rtt < time.Hour {
				m.pingRTT.Observe(rtt.Seconds())
			}
		}
		return true
	case !e.answerPings && req.msgID == e.cfg.ServerPingMsgID:
		_ = c.SendMsg(req.msgID, req.data)
		return true
	}
	return false
}

// recoverPanic keeps a panicking handler from killing the worker: the panic
// is logged with the message ID and the connection carries on.
func (e *engine) recoverPanic(c *Connection, msgID uint32, what string) {
	if r := recover(); r != nil {
		e.stats.panics.Add(1)
		c.log.Error("znet: "+what+" panicked", "msg_id", msgID, "panic", r, "stack", string(debug.Stack()))
	}
}

func (e *engine) callHook(c *Connection, hook *func(ziface.IConnection), name string) {
	if hook == nil || *hook == nil {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			e.stats.panics.Add(1)
			c.log.Error("znet: "+name+" panicked", "panic", r, "stack", string(debug.Stack()))
		}
	}()
	(*hook)(c)
}

// open admits a network connection: it takes a MaxConn slot, registers the
// connection and starts it. ok is false when the server is full.
func (e *engine) open(nc net.Conn) (*Connection, bool) {
	if !e.mgr.reserve() {
		return nil, false
	}
	return e.openReserved(nc), true
}

// openReserved is open for a connection whose MaxConn slot is already
// taken (an upgraded WebSocket's, taken when its HTTP connection was
// accepted); the connection releases it when it closes.
func (e *engine) openReserved(nc net.Conn) *Connection {
	c := newConnection(e, nc, e.nextID.Add(1))
	e.conns.Add(1)
	e.mgr.Add(c)
	c.Start()
	return c
}

func (e *engine) connClosed(c *Connection) {
	e.trafficMu.Lock()
	e.mgr.Remove(c)
	e.closedTraffic.add(c.traffic())
	e.trafficMu.Unlock()
	e.mgr.unreserve()
	e.conns.Done()
}

// blockingPool returns the pool for Async work, starting it on first use so
// servers that never block pay nothing for it.
func (e *engine) blockingPool() (*ants.Pool, error) {
	e.blockingMu.Lock()
	defer e.blockingMu.Unlock()
	if e.blockingClosed {
		return nil, ErrServerClosed
	}
	if e.blocking == nil {
		p, err := ants.NewPool(e.cfg.BlockingPoolSize, ants.WithNonblocking(true),
			ants.WithLogger(antsLogger{e.log}))
		if err != nil {
			return nil, fmt.Errorf("znet: starting the blocking pool: %w", err)
		}
		e.blocking = p
	}
	return e.blocking, nil
}

// stopWorkers ends the worker and blocking pools once every connection has
// drained, waiting at most timeout for blocking work to return.
func (e *engine) stopWorkers(timeout time.Duration) {
	if e.sched != nil {
		e.sched.stop()
	}
	if e.sweeperDone != nil {
		<-e.sweeperDone
	}
	e.blockingMu.Lock()
	p := e.blocking
	e.blockingClosed = true
	e.blockingMu.Unlock()
	if p != nil {
		if err := p.ReleaseTimeout(timeout); err != nil {
			e.log.Warn("znet: blocking pool did not stop in time", "err", err)
		}
	}
}

type antsLogger struct{ l *slog.Logger }

func (a antsLogger) Printf(format string, args ...any) {
	a.l.Error("znet: blocking pool: " + fmt.Sprintf(format, args...))
}

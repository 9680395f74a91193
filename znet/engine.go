package znet

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
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
	sched *scheduler // nil when WorkerPoolSize = zconf.Off
	stats stats
	// budget is MaxQueuedBytes (budget.go); nil on clients and when off.
	budget *budget
	// logs throttles the log lines clients cause, server-wide (logthrottle.go).
	logs LogThrottle

	onStart, onStop hookList
	srv             *Server // the server this engine serves; nil on a Client

	// routeErrs holds the route conflicts of Zinx-style registrations
	// (AddRouter has no error result); serving and dialling return them.
	routeMu   sync.Mutex
	routeErrs []error

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
	registerer    prometheus.Registerer // where the metrics went (metricsReg or a private registry); nil without
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
	cfg = cfg.WithDefaults() // a zero field means its default
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

// Handle registers h for msgID. A message ID registered twice is an error
// (ErrRouteConflict) naming the ID and both owners; the first registration
// stays. Routes may be added while serving. Safe for concurrent use.
func (e *engine) Handle(msgID uint32, h HandlerFunc) error {
	return e.mux.handle(OwnerApp, msgID, h)
}

// Use appends middleware around every handler, the first added outermost.
// Safe for concurrent use.
func (e *engine) Use(mws ...Middleware) { e.mux.use(mws...) }

// SetNotFound sets the handler for message IDs with no route. Without one,
// such messages are counted, logged once per connection and dropped.
func (e *engine) SetNotFound(h func(ziface.IRequest)) { e.mux.setNotFound(h) }

// OnConnect adds a hook run once per connection before its first message
// is handled, after the hooks added before it. Over TLS it runs after the
// handshake (the connection's GetConnection is a *tls.Conn whose
// ConnectionState is complete); a client whose handshake fails gets
// neither hook. The returned function removes the hook. Safe for
// concurrent use; a connection already past its connect sees no change.
func (e *engine) OnConnect(hook func(ziface.IConnection)) (remove func()) {
	return e.onStart.add(OwnerApp, hook)
}

// OnDisconnect adds a hook run once per connection whose connect hooks ran,
// after its last message was handled and its socket closed. Disconnect
// hooks run in reverse order of registration, so a module that set
// something up on connect before another tears it down after it. The
// returned function removes the hook. Safe for concurrent use.
func (e *engine) OnDisconnect(hook func(ziface.IConnection)) (remove func()) {
	return e.onStop.add(OwnerApp, hook)
}

// routeErr records a Zinx-style registration's error for serving to
// return, and logs it now.
func (e *engine) routeErr(err error) {
	if err == nil {
		return
	}
	e.log.Error("znet: route not registered", "err", err)
	e.routeMu.Lock()
	e.routeErrs = append(e.routeErrs, err)
	e.routeMu.Unlock()
}

// registrationErr is every registration error recorded so far.
func (e *engine) registrationErr() error {
	e.routeMu.Lock()
	defer e.routeMu.Unlock()
	return errors.Join(e.routeErrs...)
}

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
	if id := req.msgID; id != zconf.MsgIDOff && (id == e.cfg.PingMsgID || id == e.cfg.ServerPingMsgID) && e.control(c, req) {
		return
	}
	defer e.recoverPanic(c, req.msgID, "handler")
	c.aborted = false
	h := e.mux.lookup(req.msgID)
	if h == nil {
		e.stats.unknownMsgs.Add(1)
		c.LogLimited("unknown_msg_id", slog.LevelWarn, "znet: no route for message ID; dropped", "msg_id", req.msgID)
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
		// A client may trigger a panic per message: throttle, and take
		// the stack only for lines that are written.
		c.logPanic(what, msgID, r)
	}
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

package znet

import (
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are Prometheus collectors on a registry the caller passes in
// (WithMetrics), or on a private one when only AdminAddr is set. Nearly
// every figure is read at scrape time from counters the server keeps
// anyway (per connection, or in stats), so the hot path pays for no shared
// atomic: the one per-message cost is timing one handler run in
// handlerSample, per connection.

// WithMetrics registers the server's or client's metrics on reg; each
// carries a "server" label with Config.Name, so several servers can share a
// registry. When reg is also a prometheus.Gatherer (a *prometheus.Registry
// is), the admin listener (AdminAddr) serves it at /metrics.
func WithMetrics(reg prometheus.Registerer) Option {
	return func(e *engine) { e.metricsReg = reg }
}

// handlerSample: one handler run in this many per connection is timed.
// Two clock reads per message would cost more than the rest of the
// dispatch; a sample keeps the histogram's shape at 1/16 of the cost.
const handlerSample = 16

type metrics struct {
	handler   *prometheus.HistogramVec
	observers sync.Map // msgID uint32 -> prometheus.Observer
	pingRTT   prometheus.Histogram
}

// traffic is what closed connections sent and received, so the counters
// keep counting after a connection is gone.
type traffic struct {
	msgsIn, bytesIn, msgsOut, bytesOut uint64
}

// setupMetrics registers the collectors. With neither WithMetrics nor
// AdminAddr there are none.
func (e *engine) setupMetrics() error {
	reg := e.metricsReg
	if reg == nil {
		if e.cfg.AdminAddr == "" {
			return nil
		}
		r := prometheus.NewRegistry()
		r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		reg, e.gatherer = r, r
	} else if g, ok := reg.(prometheus.Gatherer); ok {
		e.gatherer = g
	}
	e.registerer = reg
	labels := prometheus.Labels{"server": e.cfg.Name}
	m := &metrics{
		handler: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "zinxgame", Name: "handler_duration_seconds", ConstLabels: labels,
			Help:    fmt.Sprintf("Time a router took to handle a message, by message ID (one run in %d per connection is timed).", handlerSample),
			Buckets: []float64{1e-6, 5e-6, 25e-6, 100e-6, 500e-6, 1e-3, 5e-3, 25e-3, 100e-3, 500e-3, 2.5},
		}, []string{"msg_id"}),
		pingRTT: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "zinxgame", Name: "ping_rtt_seconds", ConstLabels: labels,
			Help:    "Round-trip time of server-sent pings (ServerPingInterval) answered by clients.",
			Buckets: []float64{1e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 500e-3, 1, 5},
		}),
	}
	for _, c := range []prometheus.Collector{m.handler, m.pingRTT, &engineCollector{e: e, descs: newEngineDescs(labels)}, newKCPCollector(e, labels)} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("znet: registering metrics: %w", err)
		}
	}
	e.metrics = m
	return nil
}

// observeHandler records one timed handler run.
func (m *metrics) observeHandler(msgID uint32, d time.Duration) {
	o, ok := m.observers.Load(msgID)
	if !ok {
		// Only routed IDs get here, so the label set is the route table.
		o, _ = m.observers.LoadOrStore(msgID, m.handler.WithLabelValues(strconv.FormatUint(uint64(msgID), 10)))
	}
	o.(prometheus.Observer).Observe(d.Seconds())
}

type engineDescs struct {
	conns, accepted, refused, msgsIn, msgsOut, bytesIn, bytesOut, queue,
	overflows, decodeErrs, rateLimited, heartbeats, unknown, panics, ready,
	queuedBytes, overBudget *prometheus.Desc
}

func newEngineDescs(l prometheus.Labels) engineDescs {
	d := func(name, help string, vars ...string) *prometheus.Desc {
		return prometheus.NewDesc("zinxgame_"+name, help, vars, l)
	}
	return engineDescs{
		conns:       d("connections", "Open connections."),
		accepted:    d("connections_accepted_total", "Connections admitted."),
		refused:     d("connections_refused_total", "Connections refused, by reason: max_conn (MaxConn reached), ip_rate (ConnRatePerIP) or banned (an operator's IP ban).", "reason"),
		msgsIn:      d("messages_received_total", "Whole messages received (before rate limiting drops any)."),
		msgsOut:     d("messages_sent_total", "Messages queued for sending."),
		bytesIn:     d("bytes_received_total", "Bytes of whole frames received and handled."),
		bytesOut:    d("bytes_sent_total", "Bytes written to clients."),
		queue:       d("worker_queue_depth", "Connections with messages waiting for a worker."),
		overflows:   d("send_queue_overflows_total", "Connections closed because their send queue (MaxMsgChanLen, MaxSendQueueBytes) filled."),
		decodeErrs:  d("decode_errors_total", "Connections closed for a bad frame."),
		rateLimited: d("rate_limited_messages_total", "Messages over a connection's MsgRateLimit."),
		heartbeats:  d("heartbeat_timeouts_total", "Connections closed for silence (HeartbeatTimeout, FirstMessageTimeout)."),
		unknown:     d("unknown_messages_total", "Messages with no route."),
		panics:      d("panics_total", "Panics recovered in handlers, hooks and Async work."),
		ready:       d("ready", "1 when the server takes new players (the /readyz answer), else 0."),
		queuedBytes: d("queued_bytes", "Bytes held for clients (send queues, received messages waiting for a handler), counted against MaxQueuedBytes."),
		overBudget:  d("over_budget_closes_total", "Connections closed because the server held MaxQueuedBytes for its clients and they held the most."),
	}
}

// engineCollector reads the engine's counters at scrape time.
type engineCollector struct {
	e     *engine
	descs engineDescs
}

func (c *engineCollector) Describe(ch chan<- *prometheus.Desc) {
	d := c.descs
	for _, x := range []*prometheus.Desc{d.conns, d.accepted, d.refused, d.msgsIn, d.msgsOut, d.bytesIn,
		d.bytesOut, d.queue, d.overflows, d.decodeErrs, d.rateLimited, d.heartbeats, d.unknown, d.panics, d.ready,
		d.queuedBytes, d.overBudget} {
		ch <- x
	}
}

func (c *engineCollector) Collect(ch chan<- prometheus.Metric) {
	e, d := c.e, c.descs
	st := e.Stats()
	t := e.traffic()
	counter := func(desc *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(desc *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v)
	}
	gauge(d.conns, float64(st.ConnsActive))
	counter(d.accepted, st.ConnsAccepted)
	counter(d.refused, st.ConnsRefused, "max_conn")
	counter(d.refused, st.ConnsRefusedIP, "ip_rate")
	counter(d.refused, st.ConnsRefusedBanned, "banned")
	counter(d.msgsIn, t.msgsIn+st.RateLimited)
	counter(d.msgsOut, t.msgsOut)
	counter(d.bytesIn, t.bytesIn)
	counter(d.bytesOut, t.bytesOut)
	gauge(d.queue, float64(st.ReadyMailboxes))
	counter(d.overflows, st.SendQueueFull)
	counter(d.decodeErrs, st.DecodeErrors)
	counter(d.rateLimited, st.RateLimited)
	counter(d.heartbeats, st.HeartbeatTimeouts)
	counter(d.unknown, st.UnknownMsgs)
	counter(d.panics, st.Panics)
	gauge(d.queuedBytes, float64(st.QueuedBytes))
	counter(d.overBudget, st.OverBudgetCuts)
	ready := 0.0
	if e.isReady != nil && e.isReady() {
		ready = 1
	}
	gauge(d.ready, ready)
}

// traffic sums the live connections' counters and the closed ones'. The
// read lock keeps a closing connection from being counted twice, or not at
// all, while it moves from one to the other (connClosed).
func (e *engine) traffic() traffic {
	e.trafficMu.RLock()
	defer e.trafficMu.RUnlock()
	t := e.closedTraffic
	e.mgr.rangeConns(func(c *Connection) {
		t.add(c.traffic())
	})
	return t
}

func (t *traffic) add(o traffic) {
	t.msgsIn += o.msgsIn
	t.bytesIn += o.bytesIn
	t.msgsOut += o.msgsOut
	t.bytesOut += o.bytesOut
}

func (c *Connection) traffic() traffic {
	sent, written := c.sendq.counts()
	return traffic{msgsIn: c.msgsIn.Load(), bytesIn: c.bytesIn.Load(), msgsOut: sent, bytesOut: written}
}

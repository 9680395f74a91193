package redisstore

import "github.com/prometheus/client_golang/prometheus"

// metrics are the store's collectors. They always exist, so the code never
// checks; WithMetrics registers them.
type metrics struct {
	flushes, flushErrors, queueFull, written, refused prometheus.Counter
	spilled, replayed, spillTorn                      prometheus.Counter
	flushSeconds                                      prometheus.Histogram
	pending, up, docBytes, spillBytes, waiting        prometheus.GaugeFunc
}

func newMetrics(s *Store) *metrics {
	ns := "zinxgame_redis_"
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: ns + name, Help: help})
	}
	return &metrics{
		flushes:     c("flushes_total", "Pipelines Redis took (one per FlushInterval in steady state, more while a backlog drains)."),
		flushErrors: c("flush_errors_total", "Pipelines that failed (Redis unreachable or not ready); each is sent again."),
		queueFull:   c("queue_full_total", "Frames and documents refused because MaxPending writes (or DocLimits.MaxBytes of documents) were already queued."),
		written:     c("writes_total", "Writes stored in Redis."),
		refused:     c("refused_writes_total", "Writes Redis refused for themselves (logged and dropped)."),
		spilled:     c("spilled_writes_total", "Writes put in the local spill file (a full queue, or a close without Redis)."),
		replayed:    c("replayed_writes_total", "Writes an earlier process left in the spill file, found at start and replayed."),
		spillTorn:   c("spill_torn_total", "Spill files found torn or damaged (the whole records before the damage are replayed)."),
		spillBytes: prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: ns + "spill_bytes",
			Help: "Bytes in the spill file waiting for Redis (bounded by MaxSpillBytes)."}, func() float64 { return float64(s.SpillBytes()) }),
		waiting: prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: ns + "durable_waiters",
			Help: "Acknowledgements waiting for their writes to be durable (sync mode)."}, func() float64 { return float64(s.Waiting()) }),
		flushSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: ns + "flush_duration_seconds",
			Help: "Time one pipeline took, from send to the last reply.", Buckets: prometheus.ExponentialBuckets(250e-6, 4, 8)}),
		pending: prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: ns + "pending_writes",
			Help: "Writes queued in memory or in flight, not yet in Redis."}, func() float64 { return float64(s.Pending()) }),
		docBytes: prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: ns + "pending_doc_bytes",
			Help: "Bytes of document writes queued or in flight, bounded by DocLimits.MaxBytes."}, func() float64 { return float64(s.PendingDocBytes()) }),
		up: prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: ns + "up",
			Help: "1 when the last contact with Redis succeeded, 0 while it is unreachable."}, func() float64 {
			if s.Up() {
				return 1
			}
			return 0
		}),
	}
}

func (m *metrics) register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.flushes, m.flushErrors, m.queueFull, m.written, m.refused, m.flushSeconds, m.pending, m.up, m.docBytes,
		m.spilled, m.replayed, m.spillTorn, m.spillBytes, m.waiting} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

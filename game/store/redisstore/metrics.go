package redisstore

import "github.com/prometheus/client_golang/prometheus"

// metrics are the store's collectors. They always exist, so the code never
// checks; WithMetrics registers them.
type metrics struct {
	flushes, flushErrors, queueFull, written, refused prometheus.Counter
	spilled, replayed, spillTorn                      prometheus.Counter
	flushSeconds                                      prometheus.Histogram
	pending, up, docBytes, spillBytes, waiting        prometheus.GaugeFunc
	pool                                              *poolCollector
}

func newMetrics(s *Store) *metrics {
	ns := "zinxgame_redis_"
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: ns + name, Help: help})
	}
	return &metrics{
		pool:        newPoolCollector(s),
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
		m.spilled, m.replayed, m.spillTorn, m.spillBytes, m.waiting, m.pool} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// poolCollector reports go-redis's connection pool counters, read at
// scrape time: the pool keeps them anyway, so the store's commands pay
// nothing for them. New sets PipelinePoolSize -1, so the flusher's
// pipelines use this pool too and these stats are all of the client's.
// go-redis keeps the counters as uint32: at 2^32 one wraps to 0, which
// Prometheus reads as a counter reset.
type poolCollector struct {
	s                                                                *Store
	hits, misses, timeouts, waits, waitSeconds, conns, idle, removed *prometheus.Desc
}

func newPoolCollector(s *Store) *poolCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("zinxgame_redis_pool_"+name, help, nil, nil)
	}
	return &poolCollector{
		s:        s,
		hits:     d("hits_total", "Commands and pipelines that found an idle connection in the pool."),
		misses:   d("misses_total", "Commands and pipelines that found no idle connection and dialed a new one."),
		timeouts: d("timeouts_total", "Commands and pipelines that waited Redis.PoolTimeout for a connection (all PoolSize in use) and failed."),
		waits:    d("waits_total", "Commands and pipelines that had to wait for a connection (all PoolSize in use) and got one."),
		waitSeconds: d("wait_seconds_total",
			"Time spent waiting for a connection by those counted in zinxgame_redis_pool_waits_total."),
		conns:   d("conns", "Connections open to Redis, in use or idle (at most Redis.PoolSize)."),
		idle:    d("idle_conns", "Idle connections in the pool (Redis.MinIdleConns are kept open)."),
		removed: d("stale_conns_total", "Connections closed and removed from the pool: idle too long, broken, or failing a health check."),
	}
}

// Describe sends the descriptions; safe for concurrent use.
func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.hits, c.misses, c.timeouts, c.waits, c.waitSeconds, c.conns, c.idle, c.removed} {
		ch <- d
	}
}

// Collect reads the pool's counters (atomics in go-redis); safe for
// concurrent use, and after Close (the figures stop moving).
func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.rdb.PoolStats()
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	counter(c.hits, float64(st.Hits))
	counter(c.misses, float64(st.Misses))
	counter(c.timeouts, float64(st.Timeouts))
	counter(c.waits, float64(st.WaitCount))
	counter(c.waitSeconds, float64(st.WaitDurationNs)/1e9)
	gauge(c.conns, float64(st.TotalConns))
	gauge(c.idle, float64(st.IdleConns))
	counter(c.removed, float64(st.StaleConns))
}

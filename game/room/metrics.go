package room

import "github.com/prometheus/client_golang/prometheus"

// metrics are the runtime's Prometheus collectors. They always exist, so
// the code never checks; WithMetrics registers them.
type metrics struct {
	reg                prometheus.Registerer
	lateness, duration prometheus.Histogram
	created            *prometheus.CounterVec
	ended              *prometheus.CounterVec
	panics             *prometheus.CounterVec
	refused            *prometheus.CounterVec
}

// tickBuckets include 2ms, the bots' lateness target, as a bound.
var tickBuckets = []float64{10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2e-3, 5e-3, 10e-3, 33e-3, 100e-3}

// refuseReasons are every reason refused_total counts. They are created
// at zero with the collectors, so a dashboard's rate() of each reads 0, not
// "no data", before the first refusal.
var refuseReasons = []string{"busy", "rate_limited", "too_many_rooms", "owner_limit"}

// builtinEnds are the runtime's own end reasons, created at zero for each
// room type when it is registered (initType); a game's custom_N reasons
// appear when first used.
var builtinEnds = []EndReason{EndLogic, EndEmpty, EndShutdown, EndFailed}

func newMetrics() *metrics {
	const ns = "zinxgame_room_"
	mt := &metrics{
		lateness: prometheus.NewHistogram(prometheus.HistogramOpts{Name: ns + "tick_lateness_seconds",
			Help: "How late a room tick started after its scheduled time.", Buckets: tickBuckets}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: ns + "tick_duration_seconds",
			Help: "Time one room tick took (requests applied, timers, the logic's Tick).", Buckets: tickBuckets}),
		created: prometheus.NewCounterVec(prometheus.CounterOpts{Name: ns + "created_total",
			Help: "Rooms created, by type."}, []string{"type"}),
		ended: prometheus.NewCounterVec(prometheus.CounterOpts{Name: ns + "ended_total",
			Help: "Rooms ended, by type and reason (logic, empty, shutdown, failed, custom_N)."}, []string{"type", "reason"}),
		panics: prometheus.NewCounterVec(prometheus.CounterOpts{Name: ns + "logic_panics_total",
			Help: "Panics in a room's logic (each ends its room), by type."}, []string{"type"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: ns + "refused_total",
			Help: "Requests refused: busy (room queue full), rate_limited, too_many_rooms, owner_limit."}, []string{"reason"}),
	}
	for _, r := range refuseReasons {
		mt.refused.WithLabelValues(r)
	}
	return mt
}

// initType creates a room type's series at zero: created, logic panics,
// and ended for each built-in reason.
func (mt *metrics) initType(typ string) {
	mt.created.WithLabelValues(typ)
	mt.panics.WithLabelValues(typ)
	for _, r := range builtinEnds {
		mt.ended.WithLabelValues(typ, r.String())
	}
}

// register adds the collectors, with a gauge of rooms by type read at
// scrape time.
func (mt *metrics) register(m *Manager) error {
	cs := []prometheus.Collector{mt.lateness, mt.duration, mt.created, mt.ended, mt.panics, mt.refused,
		roomsCollector{m: m, desc: prometheus.NewDesc("zinxgame_room_rooms", "Rooms running, by type.", []string{"type"}, nil)}}
	for _, c := range cs {
		if err := mt.reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

type roomsCollector struct {
	m    *Manager
	desc *prometheus.Desc
}

func (c roomsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c roomsCollector) Collect(ch chan<- prometheus.Metric) {
	c.m.mu.RLock()
	counts := make(map[string]int, len(c.m.types))
	for name := range c.m.types {
		counts[name] = 0
	}
	for _, r := range c.m.rooms {
		counts[r.typ]++
	}
	c.m.mu.RUnlock()
	for name, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), name)
	}
}

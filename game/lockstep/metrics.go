package lockstep

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zinxgame/zinxgame/protocol/lspb"
)

// metrics are the lockstep service's Prometheus collectors. They always
// exist (so the code never checks); WithMetrics registers them, normally
// on the registry given to znet.WithMetrics. Tick duration and lateness
// are the room runtime's (zinxgame_room_tick_*).
type metrics struct {
	catchUp                               prometheus.Histogram
	framesSent, bytesSent                 prometheus.Counter
	roomsCreated, matchesStarted, desyncs prometheus.Counter
	reconnections, storeErrors            prometheus.Counter
	pausedTicks, releasesDropped          prometheus.Counter
	matchesRecovered                      prometheus.Counter
	inputsDropped, matchesEnded           *prometheus.CounterVec
}

// dropReasons are every reason inputs_dropped_total counts, and endReasons
// every reason a match ends with through the runtime (MATCH_END_INTERRUPTED
// is counted by matches_recovered_total instead). Their series are created
// at zero with the collectors, so a dashboard's rate() of each reads 0,
// not "no data", before the first event.
var (
	dropReasons = []string{"rate_limited", "queue_full", "frame_full", "not_running"}
	endReasons  = []lspb.MatchEndReason{lspb.MatchEndReason_MATCH_END_RESULT, lspb.MatchEndReason_MATCH_END_EMPTY,
		lspb.MatchEndReason_MATCH_END_MAX_DURATION, lspb.MatchEndReason_MATCH_END_SHUTDOWN, lspb.MatchEndReason_MATCH_END_FAILED}
)

func newMetrics() *metrics {
	ns := "zinxgame_lockstep_"
	h := func(name, help string, buckets []float64) prometheus.Histogram {
		return prometheus.NewHistogram(prometheus.HistogramOpts{Name: ns + name, Help: help, Buckets: buckets})
	}
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: ns + name, Help: help})
	}
	m := &metrics{
		catchUp:        h("catchup_duration_seconds", "Time from a Reconnect to the player being live again (every frame it missed sent).", []float64{1e-3, 5e-3, 25e-3, 100e-3, 250e-3, 1, 5}),
		framesSent:     c("frames_total", "Frames assembled and sent live."),
		bytesSent:      c("bytes_sent_total", "Bytes of frames and catch-up sent, frame heads included."),
		roomsCreated:   c("rooms_created_total", "Rooms created."),
		matchesStarted: c("matches_started_total", "Matches started."),
		desyncs:        c("desyncs_total", "Hash rounds in which some slot diverged from the majority."),
		reconnections:  c("reconnections_total", "Players who took their seat back."),
		storeErrors:    c("store_errors_total", "Frames the frame store refused (a persistent store down or full)."),
		pausedTicks:    c("paused_ticks_total", "Ticks a running match assembled no frame because its frames waited for the store too long (Sync frames, the store away)."),
		releasesDropped: c("releases_dropped_total",
			"Frame packets and MatchEnds not sent because the store could not make them durable (Sync frames or matches; the store failed or closed)."),
		matchesRecovered: c("matches_recovered_total", "Matches a previous process of this node left running, marked MATCH_END_INTERRUPTED at start."),
		inputsDropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: ns + "inputs_dropped_total",
			Help: "Inputs not put in a frame: rate_limited, queue_full (room busy), frame_full (the frame holds its most input bytes), not_running (before the start or after the end)."}, []string{"reason"}),
		matchesEnded: prometheus.NewCounterVec(prometheus.CounterOpts{Name: ns + "matches_ended_total",
			Help: "Matches ended, by reason."}, []string{"reason"}),
	}
	for _, r := range dropReasons {
		m.inputsDropped.WithLabelValues(r)
	}
	for _, r := range endReasons {
		m.matchesEnded.WithLabelValues(r.String())
	}
	return m
}

// register adds the collectors, with a gauge of rooms by state read at
// scrape time.
func (m *metrics) register(reg prometheus.Registerer, l *Service) error {
	rooms := prometheus.NewDesc("zinxgame_lockstep_rooms", "Rooms by state: open (taking players) or running.", []string{"state"}, nil)
	cs := []prometheus.Collector{m.catchUp, m.framesSent, m.bytesSent,
		m.roomsCreated, m.matchesStarted, m.desyncs, m.reconnections, m.storeErrors, m.inputsDropped, m.matchesEnded,
		m.pausedTicks, m.releasesDropped, m.matchesRecovered,
		roomsCollector{l: l, desc: rooms}}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

type roomsCollector struct {
	l    *Service
	desc *prometheus.Desc
}

func (c roomsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c roomsCollector) Collect(ch chan<- prometheus.Metric) {
	all := c.l.rooms.Count(RoomType)
	running := int(c.l.running.Load())
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(max(all-running, 0)), "open")
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(running), "running")
}

package mmo

import "github.com/prometheus/client_golang/prometheus"

// metrics are the world's Prometheus collectors. They always exist, so
// the code never checks; WithMetrics registers them.
type metrics struct {
	refused        *prometheus.CounterVec
	entered        prometheus.Counter
	writes, frames prometheus.Counter
}

// refuseReasons are the causes refused_total counts (routes.go, world.go,
// scene.go). Their series are created at zero with the collectors, so a
// dashboard's rate() of each reads 0, not "no data", before the first
// refusal.
var refuseReasons = []string{"bad_talk", "chat_refused", "chat_rate_limited", "bad_move", "move_refused",
	"bad_change_scene", "no_such_scene", "busy", "rate_limited", "closed", "not_in_scene",
	"scene_change_failed", "scene_full", "shutting_down"}

func newMetrics() *metrics {
	const ns = "zinxgame_mmo_"
	mt := &metrics{
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: ns + "refused_total",
			Help: "Requests refused, by cause: bad_talk, bad_move, chat_refused, move_refused, chat_rate_limited, busy, rate_limited, no_such_scene, not_in_scene, scene_full, ..."}, []string{"reason"}),
		entered: prometheus.NewCounter(prometheus.CounterOpts{Name: ns + "entered_total",
			Help: "Players placed in a scene (connections and scene changes)."}),
		writes: prometheus.NewCounter(prometheus.CounterOpts{Name: ns + "writes_total",
			Help: "Writes of a tick's coalesced messages to one player."}),
		frames: prometheus.NewCounter(prometheus.CounterOpts{Name: ns + "frames_total",
			Help: "Messages the scenes sent, coalesced into writes_total writes."}),
	}
	for _, r := range refuseReasons {
		mt.refused.WithLabelValues(r)
	}
	return mt
}

// register adds the collectors and a gauge of the players online.
func (mt *metrics) register(reg prometheus.Registerer, w *World) error {
	online := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "zinxgame_mmo_players",
		Help: "Players in the world's scenes."}, func() float64 { return float64(w.Len()) })
	for _, c := range []prometheus.Collector{mt.refused, mt.entered, mt.writes, mt.frames, online} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

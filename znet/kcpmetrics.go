package znet

import (
	"github.com/prometheus/client_golang/prometheus"
	kcp "github.com/xtaci/kcp-go/v5"
)

// kcpCollector reports the KCP listeners' shared sockets (how well sends
// are batched, what was dropped) and kcp-go's retransmission counters. The
// latter are the library's, for the whole process (kcp.DefaultSnmp): a
// process that also dials KCP counts its client sessions there too.
type kcpCollector struct {
	e                                                     *engine
	sent, syscalls, dropped, received, recvCalls, retrans *prometheus.Desc
	lost                                                  *prometheus.Desc
}

func newKCPCollector(e *engine, l prometheus.Labels) *kcpCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("zinxgame_kcp_"+name, help, nil, l)
	}
	return &kcpCollector{e: e,
		sent:      d("packets_sent_total", "UDP packets the KCP listeners sent, for every session."),
		syscalls:  d("send_syscalls_total", "sendmmsg calls that sent them (packets_sent_total / this is the batch size)."),
		dropped:   d("packets_dropped_total", "Packets dropped before the wire: the send queue's bound (KcpSocketBuffer) or a kernel refusal. KCP sends them again."),
		received:  d("packets_received_total", "UDP packets the KCP listeners read."),
		recvCalls: d("receive_syscalls_total", "recvmmsg calls that read them."),
		retrans:   d("retransmitted_segments_total", "KCP segments sent again (timeout, fast and early retransmission), by every KCP session of the process."),
		lost:      d("lost_segments_total", "KCP segments taken for lost after a retransmission timeout, by every KCP session of the process."),
	}
}

func (c *kcpCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.sent, c.syscalls, c.dropped, c.received, c.recvCalls, c.retrans, c.lost} {
		ch <- d
	}
}

func (c *kcpCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.e.srv
	if s == nil {
		return
	}
	var sent, calls, dropped, recv, recvCalls uint64
	s.mu.Lock()
	for _, sock := range s.kcpSocks {
		st := &sock.stats
		sent += st.packets.Load()
		calls += st.syscalls.Load()
		dropped += st.dropped.Load()
		recv += st.recvPackets.Load()
		recvCalls += st.recvSyscalls.Load()
	}
	served := len(s.kcpSocks) > 0
	s.mu.Unlock()
	if !served {
		return
	}
	counter := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	counter(c.sent, sent)
	counter(c.syscalls, calls)
	counter(c.dropped, dropped)
	counter(c.received, recv)
	counter(c.recvCalls, recvCalls)
	snmp := kcp.DefaultSnmp.Copy()
	counter(c.retrans, snmp.RetransSegs)
	counter(c.lost, snmp.LostSegs)
}

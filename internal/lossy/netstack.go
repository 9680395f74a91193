package lossy

import (
	"fmt"
	"sync"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
)

// The netstack pair's link: one NIC per stack, Ethernet-sized packets so a
// TCP segment is one packet, as on a real path.
const (
	nicID   = 1
	linkMTU = 1500
)

// Addresses inside the netstacks. They exist only in this process's memory:
// no packet addressed to them ever reaches the kernel.
func stackAddrA() tcpip.Address { return tcpip.AddrFrom4([4]byte{10, 77, 0, 1}) }
func stackAddrB() tcpip.Address { return tcpip.AddrFrom4([4]byte{10, 77, 0, 2}) }

// linkEndpoint is a stack.LinkEndpoint whose outbound IP packets go through
// a lossy link to the peer endpoint's stack. Its methods are called by
// netstack, concurrently; mu guards the fields netstack may change.
type linkEndpoint struct {
	out  *link
	peer *linkEndpoint

	mu         sync.RWMutex
	dispatcher stack.NetworkDispatcher
	mtu        uint32
	linkAddr   tcpip.LinkAddress

	inject func([]byte) // the peer's receive path, made once
}

var _ stack.LinkEndpoint = (*linkEndpoint)(nil)

func newLinkPair(up, down *link) (a, b *linkEndpoint) {
	a = &linkEndpoint{out: up, mtu: linkMTU}
	b = &linkEndpoint{out: down, mtu: linkMTU}
	a.peer, b.peer = b, a
	a.inject = a.receive
	b.inject = b.receive
	return a, b
}

// receive hands one IP packet, delivered by the link, to this endpoint's
// stack. Packets arriving before Attach or after detach are dropped, like a
// frame reaching an interface that is down.
func (e *linkEndpoint) receive(data []byte) {
	e.mu.RLock()
	d := e.dispatcher
	e.mu.RUnlock()
	if d == nil || len(data) == 0 {
		return
	}
	var proto tcpip.NetworkProtocolNumber
	switch header.IPVersion(data) {
	case header.IPv4Version:
		proto = header.IPv4ProtocolNumber
	case header.IPv6Version:
		proto = header.IPv6ProtocolNumber
	default:
		return
	}
	pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(data)})
	d.DeliverNetworkPacket(proto, pkt)
	pkt.DecRef()
}

// WritePackets implements stack.LinkEndpoint: each packet is copied and
// offered to the lossy link, which never blocks.
func (e *linkEndpoint) WritePackets(pkts stack.PacketBufferList) (int, tcpip.Error) {
	n := 0
	for _, pkt := range pkts.AsSlice() {
		buf := pkt.ToBuffer()
		data := buf.Flatten()
		buf.Release()
		e.out.send(data, e.peer.inject)
		n++
	}
	return n, nil
}

// Attach implements stack.LinkEndpoint.
func (e *linkEndpoint) Attach(d stack.NetworkDispatcher) {
	e.mu.Lock()
	e.dispatcher = d
	e.mu.Unlock()
}

// IsAttached implements stack.LinkEndpoint.
func (e *linkEndpoint) IsAttached() bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.dispatcher != nil
}

// MTU implements stack.LinkEndpoint.
func (e *linkEndpoint) MTU() uint32 {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.mtu
}

// SetMTU implements stack.LinkEndpoint.
func (e *linkEndpoint) SetMTU(mtu uint32) {
	e.mu.Lock()
	e.mtu = mtu
	e.mu.Unlock()
}

// LinkAddress implements stack.LinkEndpoint.
func (e *linkEndpoint) LinkAddress() tcpip.LinkAddress {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.linkAddr
}

// SetLinkAddress implements stack.LinkEndpoint.
func (e *linkEndpoint) SetLinkAddress(a tcpip.LinkAddress) {
	e.mu.Lock()
	e.linkAddr = a
	e.mu.Unlock()
}

// Capabilities implements stack.LinkEndpoint. Checksums are skipped both
// ways: packets are copied in memory and cannot be corrupted, and the CPU
// saved matters on a loaded test machine. No link-layer resolution: a
// point-to-point link has no neighbours to discover.
func (*linkEndpoint) Capabilities() stack.LinkEndpointCapabilities {
	return stack.CapabilityTXChecksumOffload | stack.CapabilityRXChecksumOffload
}

// MaxHeaderLength implements stack.LinkEndpoint: no link header.
func (*linkEndpoint) MaxHeaderLength() uint16 { return 0 }

// Wait implements stack.LinkEndpoint; the link's goroutines are stopped by
// the proxy, not by netstack.
func (*linkEndpoint) Wait() {}

// ARPHardwareType implements stack.LinkEndpoint.
func (*linkEndpoint) ARPHardwareType() header.ARPHardwareType { return header.ARPHardwareNone }

// AddHeader implements stack.LinkEndpoint: no link header.
func (*linkEndpoint) AddHeader(*stack.PacketBuffer) {}

// ParseHeader implements stack.LinkEndpoint: no link header.
func (*linkEndpoint) ParseHeader(*stack.PacketBuffer) bool { return true }

// Close implements stack.LinkEndpoint.
func (*linkEndpoint) Close() {}

// SetOnCloseAction implements stack.LinkEndpoint.
func (*linkEndpoint) SetOnCloseAction(func()) {}

// newNetstack builds one stack with IPv4 and TCP on a NIC over ep.
//
// TCP settings: SACK on, CUBIC congestion control (Linux's default), RACK
// loss detection, Nagle off (as Go sets TCP_NODELAY on kernel sockets),
// gVisor's default minimum RTO of 200 ms and 1 MiB buffers with receive
// buffer auto-tuning.
func newNetstack(ep *linkEndpoint, addr tcpip.Address) (*stack.Stack, error) {
	s := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocolCUBIC},
	})
	sack := tcpip.TCPSACKEnabled(true)
	nagle := tcpip.TCPDelayEnabled(false)
	moderate := tcpip.TCPModerateReceiveBufferOption(true)
	for _, opt := range []tcpip.SettableTransportProtocolOption{&sack, &nagle, &moderate} {
		if err := s.SetTransportProtocolOption(tcp.ProtocolNumber, opt); err != nil {
			s.Destroy()
			return nil, fmt.Errorf("lossy: netstack option %T: %s", opt, err)
		}
	}
	if err := s.CreateNIC(nicID, ep); err != nil {
		s.Destroy()
		return nil, fmt.Errorf("lossy: netstack nic: %s", err)
	}
	pa := tcpip.ProtocolAddress{
		Protocol:          ipv4.ProtocolNumber,
		AddressWithPrefix: tcpip.AddressWithPrefix{Address: addr, PrefixLen: 24},
	}
	if err := s.AddProtocolAddress(nicID, pa, stack.AddressProperties{}); err != nil {
		s.Destroy()
		return nil, fmt.Errorf("lossy: netstack address: %s", err)
	}
	s.SetRouteTable([]tcpip.Route{{Destination: header.IPv4EmptySubnet, NIC: nicID}})
	return s, nil
}

package znet

import (
	"sync"
	"sync/atomic"

	"github.com/zinxgame/zinxgame/ziface"
)

// ConnManager tracks live connections and enforces MaxConn. Admission
// reserves a slot atomically before the connection exists, so concurrent
// listeners can never overshoot the limit.
type ConnManager struct {
	max      int64
	reserved atomic.Int64
	mu       sync.RWMutex
	conns    map[uint64]ziface.IConnection
}

var _ ziface.IConnManager = (*ConnManager)(nil)

func newConnManager(max int) *ConnManager {
	return &ConnManager{max: int64(max), conns: make(map[uint64]ziface.IConnection)}
}

func (m *ConnManager) reserve() bool {
	for {
		n := m.reserved.Load()
		if n >= m.max {
			return false
		}
		if m.reserved.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (m *ConnManager) unreserve() { m.reserved.Add(-1) }

// Add registers conn.
func (m *ConnManager) Add(conn ziface.IConnection) {
	m.mu.Lock()
	m.conns[conn.GetConnID()] = conn
	m.mu.Unlock()
}

// Remove forgets conn.
func (m *ConnManager) Remove(conn ziface.IConnection) {
	m.mu.Lock()
	delete(m.conns, conn.GetConnID())
	m.mu.Unlock()
}

// Get finds a connection by ID.
func (m *ConnManager) Get(connID uint64) (ziface.IConnection, bool) {
	m.mu.RLock()
	c, ok := m.conns[connID]
	m.mu.RUnlock()
	return c, ok
}

// Len is the number of registered connections.
func (m *ConnManager) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.conns)
}

// Range calls f for each connection until f returns false. It holds a read
// lock, so f must not call Add or Remove; Stop and SendMsg are fine.
func (m *ConnManager) Range(f func(ziface.IConnection) bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, c := range m.conns {
		if !f(c) {
			return
		}
	}
}

// rangeConns is Range for the framework's own connections.
func (m *ConnManager) rangeConns(f func(*Connection)) {
	m.Range(func(c ziface.IConnection) bool {
		if conn, ok := c.(*Connection); ok {
			f(conn)
		}
		return true
	})
}

// ClearConn stops every connection gracefully.
func (m *ConnManager) ClearConn() {
	m.Range(func(c ziface.IConnection) bool {
		c.Stop()
		return true
	})
}

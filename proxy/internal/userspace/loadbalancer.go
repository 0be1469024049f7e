package userspace

import (
	"sync"
	"time"

	"kube5/proxy/internal/proxy"
)

// loadBalancer picks endpoints round-robin, keeping a client on its endpoint while
// sessionAffinity ClientIP holds, as upstream's userspace LoadBalancerRR.
type loadBalancer struct {
	mu       sync.Mutex
	eps      []proxy.Endpoint
	next     int
	sticky   time.Duration // 0: no affinity
	affinity map[string]affinity
	now      func() time.Time
}

type affinity struct {
	ep   proxy.Endpoint
	last time.Time
}

func newLoadBalancer() *loadBalancer {
	return &loadBalancer{affinity: map[string]affinity{}, now: time.Now}
}

// update replaces the endpoints and the affinity timeout; a client's affinity survives
// when its endpoint does.
func (l *loadBalancer) update(eps []proxy.Endpoint, stickySeconds int32) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.eps = append(l.eps[:0:0], eps...)
	l.sticky = time.Duration(stickySeconds) * time.Second
	if l.next >= len(l.eps) {
		l.next = 0
	}
	alive := map[proxy.Endpoint]bool{}
	for _, e := range eps {
		alive[e] = true
	}
	for c, a := range l.affinity {
		if !alive[a.ep] || l.sticky == 0 {
			delete(l.affinity, c)
		}
	}
}

// pick returns the endpoint for a new connection or datagram from clientIP.
func (l *loadBalancer) pick(clientIP string) (proxy.Endpoint, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.eps) == 0 {
		return proxy.Endpoint{}, false
	}
	now := l.now()
	if l.sticky > 0 {
		if a, ok := l.affinity[clientIP]; ok && now.Sub(a.last) < l.sticky {
			a.last = now
			l.affinity[clientIP] = a
			return a.ep, true
		}
	}
	ep := l.eps[l.next]
	l.next = (l.next + 1) % len(l.eps)
	if l.sticky > 0 {
		l.affinity[clientIP] = affinity{ep: ep, last: now}
	}
	return ep, true
}

// count is the number of endpoints.
func (l *loadBalancer) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.eps)
}

package metrics

import (
	"testing"
	"time"
)

func TestHealthFailsWhenSyncsStall(t *testing.T) {
	now := time.Unix(1000, 0)
	h := NewHealth(time.Minute)
	h.now = func() time.Time { return now }
	h.lastUpdated = now
	if err := h.Check(); err != nil {
		t.Fatalf("fresh: %v", err)
	}
	h.QueuedUpdate()
	now = now.Add(30 * time.Second)
	if err := h.Check(); err != nil {
		t.Fatalf("change queued 30s ago: %v", err)
	}
	now = now.Add(31 * time.Second)
	if err := h.Check(); err == nil {
		t.Fatal("change queued 61s ago without a sync: healthy")
	}
	h.Updated(now.Add(-time.Second))
	if err := h.Check(); err != nil {
		t.Fatalf("after a sync: %v", err)
	}
	now = now.Add(121 * time.Second) // no periodic sync either
	if err := h.Check(); err == nil {
		t.Fatal("no sync for 2x timeout: healthy")
	}
}

package controller

import (
	"context"
	"testing"
	"time"
)

// A sync context outlives its parent by SyncGracePeriod, no more.
func TestSyncContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	syncCtx, stop := SyncContext(ctx)
	defer stop()
	cancel()
	select {
	case <-syncCtx.Done():
		t.Fatal("sync context ended with its parent; it should get a grace period")
	case <-time.After(SyncGracePeriod / 4):
	}
	select {
	case <-syncCtx.Done():
	case <-time.After(2 * SyncGracePeriod):
		t.Fatal("sync context outlived the grace period")
	}
	// stop ends it at once.
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	syncCtx2, stop2 := SyncContext(ctx2)
	stop2()
	if syncCtx2.Err() == nil {
		t.Fatal("stop did not end the sync context")
	}
}

// Package controller holds what every kube-controller-manager controller shares: the
// Context its constructor gets, the flag-derived Config and the Controller interface.
// Each controller lives in its own sub-package; the app wires them through explicit
// registration maps.
package controller

import (
	"context"
	"sync"
	"time"

	"kube5/proto/client"
	"kube5/proto/events"
	"kube5/proto/informer"
)

// Context is what every controller constructor gets.
type Context struct {
	Client    *client.Clientset
	Informers *informer.Factory                       // shared informers; the app starts the factory after all constructors ran
	Events    func(component string) *events.Recorder // a recorder per controller name ("deployment-controller", "replicaset-controller", "node-controller", ...), already running
	Config    Config
}

// Config holds the flags controllers read (defaults as upstream).
type Config struct {
	ClusterCIDR              string         // --cluster-cidr 10.244.0.0/16
	AllocateNodeCIDRs        bool           // --allocate-node-cidrs (default TRUE in kube5, design.md §4)
	NodeCIDRMaskSize         int            // --node-cidr-mask-size 24
	NodeMonitorGracePeriod   time.Duration  // --node-monitor-grace-period 40s
	NodeMonitorPeriod        time.Duration  // --node-monitor-period 5s
	NodeStartupGracePeriod   time.Duration  // --node-startup-grace-period 1m
	TerminatedPodGCThreshold int            // --terminated-pod-gc-threshold 12500
	ConcurrentSyncs          map[string]int // --concurrent-deployment-syncs 5, --concurrent-replicaset-syncs 5, ... keyed by controller name
}

// Controller runs until ctx ends, with the given number of workers.
type Controller interface {
	Run(ctx context.Context, workers int)
}

// Constructor builds a controller; it registers its informer handlers but starts nothing.
type Constructor func(*Context) (Controller, error)

// SyncGracePeriod is how long syncs in flight may go on after their controller was told
// to stop. Cutting a sync short leaves writes of unknown outcome (a pod create the
// apiserver still commits after the client gave up), which the next leader cannot see
// when it lists and then repeats; letting it finish avoids that. It is well below the
// gap between a leader's renew deadline and its lease's expiry (5s with the defaults).
const SyncGracePeriod = 2 * time.Second

// SyncContext returns the context workers pass to sync: it ends SyncGracePeriod after
// ctx ends, so a sync in flight when the controller stops can complete. stop releases it.
func SyncContext(ctx context.Context) (syncCtx context.Context, stop func()) {
	syncCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var timer *time.Timer
	var mu sync.Mutex
	unregister := context.AfterFunc(ctx, func() {
		mu.Lock()
		timer = time.AfterFunc(SyncGracePeriod, cancel)
		mu.Unlock()
	})
	return syncCtx, func() {
		unregister()
		mu.Lock()
		if timer != nil {
			timer.Stop()
		}
		mu.Unlock()
		cancel()
	}
}

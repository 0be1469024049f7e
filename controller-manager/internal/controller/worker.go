package controller

import (
	"context"

	"k8s.io/klog/v2"

	"kube5/proto/workqueue"
)

// Work is one worker of a controller, as upstream's processNextWorkItem loop: it syncs
// the keys of q one at a time until q shuts down, retrying a key whose sync failed with
// the queue's rate limit and forgetting the failures of one that succeeded. failed is
// the log line of a failure, keyName what the key is ("job", "node").
func Work[K comparable](ctx context.Context, q *workqueue.Queue[K], sync func(context.Context, K) error, failed, keyName string) {
	for {
		key, shutdown := q.Get()
		if shutdown {
			return
		}
		if err := sync(ctx, key); err != nil {
			klog.V(2).InfoS(failed, keyName, key, "err", err)
			q.AddRateLimited(key)
		} else {
			q.Forget(key)
		}
		q.Done(key)
	}
}

package storage

import (
	"context"
	"errors"
	"strconv"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/klog/v2"
)

// compactRevKey is upstream's key coordinating compaction between apiservers sharing
// one etcd: only the apiserver whose transaction bumps its version compacts.
const compactRevKey = "compact_rev_key"

// DefaultCompactionInterval is upstream's --etcd-compaction-interval.
const DefaultCompactionInterval = 5 * time.Minute

// Compact discards etcd history before rev. Compacting at or below an already compacted
// revision is not an error.
func (s *Store) Compact(ctx context.Context, rev int64) (err error) {
	start := time.Now()
	defer func() { record("compact", "", start, err) }()
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	if _, err := s.client.Compact(ctx, rev); err != nil {
		if errors.Is(err, rpctypes.ErrCompacted) {
			return nil
		}
		return InterpretEtcdError(err, "")
	}
	return nil
}

// StartCompactor compacts every interval until ctx ends, keeping the history written
// since the previous compaction, as upstream: each round records the current revision
// and compacts at the one recorded the round before. An interval <= 0 disables it.
func (s *Store) StartCompactor(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		return
	}
	go func() {
		var version, rev int64
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
			case <-ctx.Done():
				return
			}
			var err error
			version, rev, err = s.compactRound(ctx, version, rev)
			if err != nil && ctx.Err() == nil {
				klog.ErrorS(err, "etcd compaction failed", "endpoints", s.client.Endpoints())
			}
		}
	}()
}

// compactRound is upstream's compact(): the transaction succeeds for exactly one of
// several apiservers per round (the key's version is the round counter); that one
// compacts at the revision of the previous round.
func (s *Store) compactRound(ctx context.Context, version, rev int64) (int64, int64, error) {
	resp, err := s.client.Txn(ctx).
		If(clientv3.Compare(clientv3.Version(compactRevKey), "=", version)).
		Then(clientv3.OpPut(compactRevKey, strconv.FormatInt(rev, 10))).
		Else(clientv3.OpGet(compactRevKey)).
		Commit()
	if err != nil {
		return version, rev, err
	}
	curRev := resp.Header.Revision
	if !resp.Succeeded {
		kvs := resp.Responses[0].GetResponseRange().GetKvs()
		if len(kvs) == 0 {
			return 0, curRev, nil
		}
		return kvs[0].Version, curRev, nil
	}
	if rev == 0 {
		return version + 1, curRev, nil // nothing to compact on the first round
	}
	if err := s.Compact(ctx, rev); err != nil {
		return version + 1, curRev, err
	}
	klog.V(4).InfoS("etcd compacted", "revision", rev)
	return version + 1, curRev, nil
}

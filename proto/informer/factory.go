package informer

import (
	"context"
	"sync"
	"time"

	"google.golang.org/protobuf/reflect/protoreflect"

	"kube5/proto/client"
	"kube5/proto/scheme"
)

// Factory shares one informer per (type, namespace, selectors) among the controllers of a
// process, as upstream's SharedInformerFactory: every controller asks for the pod
// informer, one list and one watch feed them all.
type Factory struct {
	c      *client.Clientset
	resync time.Duration

	mu        sync.Mutex
	informers map[factoryKey]runner
	started   map[factoryKey]bool
	wg        sync.WaitGroup
}

type factoryKey struct {
	msg                protoreflect.FullName
	namespace          string
	labelSel, fieldSel string
}

// runner is the type-erased view of an *Informer[T] the factory needs.
type runner interface {
	Run(ctx context.Context)
	WaitForCacheSync(ctx context.Context) bool
}

// NewFactory returns a factory whose informers resync every defaultResync (0: never).
func NewFactory(c *client.Clientset, defaultResync time.Duration) *Factory {
	return &Factory{c: c, resync: defaultResync, informers: map[factoryKey]runner{}, started: map[factoryKey]bool{}}
}

// ForType returns the shared informer for all objects of type T in all namespaces.
func ForType[T scheme.Object](f *Factory) *Informer[T] {
	return ForTypeWith[T](f, "", Options{})
}

// ForTypeWith returns the shared informer for objects of type T in namespace ("" = all)
// matching opts' selectors. opts.ResyncPeriod 0 takes the factory's default; the
// options of the first caller win for a shared informer.
func ForTypeWith[T scheme.Object](f *Factory, namespace string, opts Options) *Informer[T] {
	var zero T
	if res, ok := scheme.For(zero); ok && !res.Namespaced {
		namespace = "" // one informer for a cluster-scoped type, however it is asked for
	}
	k := factoryKey{zero.ProtoReflect().Descriptor().FullName(), namespace, opts.LabelSelector, opts.FieldSelector}
	f.mu.Lock()
	defer f.mu.Unlock()
	if inf, ok := f.informers[k]; ok {
		return inf.(*Informer[T])
	}
	if opts.ResyncPeriod == 0 {
		opts.ResyncPeriod = f.resync
	}
	inf := New[T](client.For[T](f.c, namespace), opts)
	f.informers[k] = inf
	return inf
}

// Start runs every informer requested so far that is not running yet; call it again after
// requesting more. The informers stop when ctx ends.
func (f *Factory) Start(ctx context.Context) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, inf := range f.informers {
		if f.started[k] {
			continue
		}
		f.started[k] = true
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			inf.Run(ctx)
		}()
	}
}

// WaitForCacheSync waits until every started informer has synced, or ctx ends; it
// reports whether all synced.
func (f *Factory) WaitForCacheSync(ctx context.Context) bool {
	f.mu.Lock()
	var infs []runner
	for k, inf := range f.informers {
		if f.started[k] {
			infs = append(infs, inf)
		}
	}
	f.mu.Unlock()
	for _, inf := range infs {
		if !inf.WaitForCacheSync(ctx) {
			return false
		}
	}
	return true
}

// Shutdown waits for the informers to stop after the context given to Start has ended.
func (f *Factory) Shutdown() { f.wg.Wait() }

// WaitForCacheSync waits until every synced func reports true, polling, or ctx ends, as
// upstream's cache.WaitForCacheSync; pass Informer.HasSynced or Registration.HasSynced.
func WaitForCacheSync(ctx context.Context, synced ...func() bool) bool {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		all := true
		for _, s := range synced {
			if !s() {
				all = false
				break
			}
		}
		if all {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
}

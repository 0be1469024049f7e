package garbagecollector

import (
	appsv1 "kube5/proto/api/apps/v1"
	batchv1 "kube5/proto/api/batch/v1"
	coordinationv1 "kube5/proto/api/coordination/v1"
	corev1 "kube5/proto/api/core/v1"
	"kube5/proto/informer"
	"kube5/proto/scheme"
)

// ownerIndex indexes objects by the uids of their owners, on every watched informer.
const ownerIndex = "garbagecollector:ownerUID"

// source is one watched resource, seen untyped: the collector's view of a shared typed
// informer.
type source struct {
	res     *scheme.Resource
	get     func(namespace, name string) (scheme.Object, bool)
	byOwner func(uid string) []scheme.Object
	synced  func() bool
}

// watched registers the collector on the shared informers of every resource that can
// own or be owned: all of the scheme's collections except events (high churn, never
// owners; their own TTL removes them), bindings and component statuses (not stored).
func (gc *Collector) watched(f *informer.Factory) ([]*source, error) {
	var out []*source
	for _, add := range []func(*Collector, *informer.Factory) (*source, error){
		watch[*corev1.Pod], watch[*corev1.Service], watch[*corev1.Endpoints], watch[*corev1.Node],
		watch[*corev1.Namespace], watch[*corev1.ServiceAccount], watch[*corev1.ReplicationController],
		watch[*corev1.ConfigMap], watch[*corev1.Secret], watch[*appsv1.Deployment], watch[*appsv1.ReplicaSet],
		watch[*batchv1.Job], watch[*coordinationv1.Lease],
	} {
		s, err := add(gc, f)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func watch[T scheme.Object](gc *Collector, f *informer.Factory) (*source, error) {
	var zero T
	res, _ := scheme.For(zero)
	inf := informer.ForType[T](f)
	if err := inf.AddIndexers(map[string]informer.IndexFunc[T]{ownerIndex: func(o T) []string {
		refs := o.GetMetadata().GetOwnerReferences()
		if len(refs) == 0 {
			return nil
		}
		uids := make([]string, len(refs))
		for i, r := range refs {
			uids[i] = r.GetUid()
		}
		return uids
	}}); err != nil {
		return nil, err
	}
	inf.AddEventHandler(informer.Handler[T]{
		OnAdd:    func(o T) { gc.onAdd(res, o) },
		OnUpdate: func(old, o T) { gc.onUpdate(res, old, o) },
		OnDelete: func(o T) { gc.onDelete(res, o) },
	})
	return &source{
		res: res,
		get: func(ns, name string) (scheme.Object, bool) { return inf.Lister().Get(ns, name) },
		byOwner: func(uid string) []scheme.Object {
			objs := inf.Lister().ByIndex(ownerIndex, uid)
			out := make([]scheme.Object, len(objs))
			for i, o := range objs {
				out[i] = o
			}
			return out
		},
		synced: inf.HasSynced,
	}, nil
}

package client

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	metav1 "kube5/proto/api/meta/v1"
	rpcv1 "kube5/proto/api/rpc/v1"
	"kube5/proto/apierrors"
	"kube5/proto/scheme"
)

// ListOptions select what List and Watch return, as upstream's metav1.ListOptions.
type ListOptions struct {
	LabelSelector string
	FieldSelector string
	// ResourceVersion: for List, "" is a consistent read; for Watch, "" or "0" start with
	// synthetic ADDED events for the current state, anything else streams the events
	// strictly after that revision (Gone/Expired when it is compacted).
	ResourceVersion string
	Limit           int64
	Continue        string
	// AllowWatchBookmarks asks for periodic BOOKMARK events carrying the current revision.
	AllowWatchBookmarks bool
	// TimeoutSeconds ends a watch on the server after this long (0: never).
	TimeoutSeconds int64
}

func (o ListOptions) proto() *rpcv1.ListOptions {
	return &rpcv1.ListOptions{
		LabelSelector:       o.LabelSelector,
		FieldSelector:       o.FieldSelector,
		ResourceVersion:     o.ResourceVersion,
		Limit:               o.Limit,
		Continue:            o.Continue,
		AllowWatchBookmarks: o.AllowWatchBookmarks,
		TimeoutSeconds:      o.TimeoutSeconds,
	}
}

// List is one page of a list: the items, the revision the list was read at (watch from
// here), and the continue token of the next page ("" on the last).
type List[T scheme.Object] struct {
	Items           []T
	ResourceVersion string
	Continue        string
}

// access is the implementation behind Resource[T] and Dynamic: one resource in one
// namespace, decoding into T through decode.
type access[T scheme.Object] struct {
	c      *Clientset
	res    *scheme.Resource
	ns     string
	decode func([]byte) (T, error)
}

func newAccess[T scheme.Object](c *Clientset, res *scheme.Resource, namespace string) access[T] {
	if !res.Namespaced {
		namespace = ""
	}
	return access[T]{c: c, res: res, ns: namespace, decode: func(b []byte) (T, error) {
		obj := res.New()
		if err := proto.Unmarshal(b, obj); err != nil {
			var zero T
			return zero, apierrors.NewInternalError(fmt.Errorf("decoding %s: %w", res.GroupResource(), err))
		}
		t, ok := obj.(T)
		if !ok {
			var zero T
			return zero, fmt.Errorf("client: %s decodes to %T, not %T", res.GroupResource(), obj, zero)
		}
		return t, nil
	}}
}

// ref names the collection; namespace overrides the access's own when the access is for
// all namespaces and the object names one.
func (a *access[T]) ref(namespace string) *rpcv1.ResourceRef {
	ns := a.ns
	if ns == "" && a.res.Namespaced {
		ns = namespace
	}
	return &rpcv1.ResourceRef{Group: a.res.Group, Version: a.res.Version, Resource: a.res.Resource, Namespace: ns}
}

// unary bounds a call by the client's timeout.
func (a *access[T]) unary(ctx context.Context) (context.Context, context.CancelFunc) {
	if a.c.timeout > 0 {
		return context.WithTimeout(ctx, a.c.timeout)
	}
	return context.WithCancel(ctx)
}

func (a *access[T]) get(ctx context.Context, name, sub string) ([]byte, error) {
	ctx, cancel := a.unary(ctx)
	defer cancel()
	resp, err := a.c.rpc.Get(ctx, &rpcv1.GetRequest{Ref: a.ref(""), Name: name, Subresource: sub})
	if err != nil {
		return nil, apierrors.FromGRPC(err)
	}
	return resp.GetObject(), nil
}

func (a *access[T]) Get(ctx context.Context, name string) (T, error) {
	b, err := a.get(ctx, name, "")
	if err != nil {
		var zero T
		return zero, err
	}
	return a.decode(b)
}

func (a *access[T]) List(ctx context.Context, opts ListOptions) (*List[T], error) {
	ctx, cancel := a.unary(ctx)
	defer cancel()
	resp, err := a.c.rpc.List(ctx, &rpcv1.ListRequest{Ref: a.ref(""), Options: opts.proto()})
	if err != nil {
		return nil, apierrors.FromGRPC(err)
	}
	out := &List[T]{ResourceVersion: resp.GetResourceVersion(), Continue: resp.GetContinue(), Items: make([]T, 0, len(resp.GetItems()))}
	for _, b := range resp.GetItems() {
		obj, err := a.decode(b)
		if err != nil {
			return nil, err
		}
		out.Items = append(out.Items, obj)
	}
	return out, nil
}

func (a *access[T]) create(ctx context.Context, namespace, name, sub string, in proto.Message) ([]byte, error) {
	b, err := proto.Marshal(in)
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("encoding %s: %v", a.res.GroupResource(), err))
	}
	ctx, cancel := a.unary(ctx)
	defer cancel()
	resp, err := a.c.rpc.Create(ctx, &rpcv1.CreateRequest{Ref: a.ref(namespace), Object: b, Subresource: sub, Name: name})
	if err != nil {
		return nil, apierrors.FromGRPC(err)
	}
	return resp.GetObject(), nil
}

func (a *access[T]) Create(ctx context.Context, obj T) (T, error) {
	b, err := a.create(ctx, obj.GetMetadata().GetNamespace(), "", "", obj)
	if err != nil {
		var zero T
		return zero, err
	}
	return a.decode(b)
}

func (a *access[T]) update(ctx context.Context, namespace, name, sub string, in proto.Message) ([]byte, error) {
	b, err := proto.Marshal(in)
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("encoding %s: %v", a.res.GroupResource(), err))
	}
	ctx, cancel := a.unary(ctx)
	defer cancel()
	resp, err := a.c.rpc.Update(ctx, &rpcv1.UpdateRequest{Ref: a.ref(namespace), Name: name, Subresource: sub, Object: b})
	if err != nil {
		return nil, apierrors.FromGRPC(err)
	}
	return resp.GetObject(), nil
}

func (a *access[T]) Update(ctx context.Context, obj T) (T, error) {
	return a.updateObj(ctx, obj, "")
}

func (a *access[T]) UpdateStatus(ctx context.Context, obj T) (T, error) {
	return a.updateObj(ctx, obj, "status")
}

func (a *access[T]) updateObj(ctx context.Context, obj T, sub string) (T, error) {
	md := obj.GetMetadata()
	b, err := a.update(ctx, md.GetNamespace(), md.GetName(), sub, obj)
	if err != nil {
		var zero T
		return zero, err
	}
	return a.decode(b)
}

func (a *access[T]) Delete(ctx context.Context, name string, opts *metav1.DeleteOptions) error {
	ctx, cancel := a.unary(ctx)
	defer cancel()
	_, err := a.c.rpc.Delete(ctx, &rpcv1.DeleteRequest{Ref: a.ref(""), Name: name, Options: opts})
	return apierrors.FromGRPC(err)
}

func (a *access[T]) GetSubresource(ctx context.Context, name, subresource string, out proto.Message) error {
	b, err := a.get(ctx, name, subresource)
	if err != nil {
		return err
	}
	return unmarshalInto(b, out)
}

func (a *access[T]) UpdateSubresource(ctx context.Context, name, subresource string, in, out proto.Message) error {
	b, err := a.update(ctx, a.nsOf(in), name, subresource, in)
	if err != nil {
		return err
	}
	return unmarshalInto(b, out)
}

func (a *access[T]) CreateSubresource(ctx context.Context, name, subresource string, in, out proto.Message) error {
	b, err := a.create(ctx, a.nsOf(in), name, subresource, in)
	if err != nil {
		return err
	}
	return unmarshalInto(b, out)
}

// nsOf reads the namespace of a subresource body (Scale, Binding) when it has metadata.
func (a *access[T]) nsOf(m proto.Message) string {
	if o, ok := m.(interface{ GetMetadata() *metav1.ObjectMeta }); ok {
		return o.GetMetadata().GetNamespace()
	}
	return ""
}

// unmarshalInto decodes a response into out; a nil out discards it.
func unmarshalInto(b []byte, out proto.Message) error {
	if out == nil {
		return nil
	}
	if err := proto.Unmarshal(b, out); err != nil {
		return apierrors.NewInternalError(fmt.Errorf("decoding %T: %w", out, err))
	}
	return nil
}

// Resource is typed access to one resource in one namespace ("" = all namespaces for
// List and Watch; ignored for cluster-scoped resources). Create and Update with an
// all-namespaces Resource use the object's metadata.namespace.
type Resource[T scheme.Object] struct {
	a access[T]
}

// For returns typed access to the resource whose Go type is T. It panics when T is not
// in the scheme: that is a programming error, found by the first test that runs it.
func For[T scheme.Object](c *Clientset, namespace string) *Resource[T] {
	var zero T
	res, ok := scheme.For(zero)
	if !ok {
		panic(fmt.Sprintf("client.For: %T is not a resource in kube5/proto/scheme", zero))
	}
	return &Resource[T]{a: newAccess[T](c, res, namespace)}
}

// Get returns the named object.
func (r *Resource[T]) Get(ctx context.Context, name string) (T, error) { return r.a.Get(ctx, name) }

// List returns the objects matching opts.
func (r *Resource[T]) List(ctx context.Context, opts ListOptions) (*List[T], error) {
	return r.a.List(ctx, opts)
}

// Create creates obj and returns it as stored (name generated, uid, resourceVersion, ...).
func (r *Resource[T]) Create(ctx context.Context, obj T) (T, error) { return r.a.Create(ctx, obj) }

// Update replaces obj; a set metadata.resourceVersion makes it conditional (Conflict when
// the object changed since).
func (r *Resource[T]) Update(ctx context.Context, obj T) (T, error) { return r.a.Update(ctx, obj) }

// UpdateStatus replaces obj's status through the status subresource.
func (r *Resource[T]) UpdateStatus(ctx context.Context, obj T) (T, error) {
	return r.a.UpdateStatus(ctx, obj)
}

// Delete deletes the named object; opts may be nil.
func (r *Resource[T]) Delete(ctx context.Context, name string, opts *metav1.DeleteOptions) error {
	return r.a.Delete(ctx, name, opts)
}

// GetSubresource reads a subresource ("scale", "status") into out.
func (r *Resource[T]) GetSubresource(ctx context.Context, name, subresource string, out proto.Message) error {
	return r.a.GetSubresource(ctx, name, subresource, out)
}

// UpdateSubresource writes in to a subresource ("scale") and decodes the answer into out
// (nil: discard).
func (r *Resource[T]) UpdateSubresource(ctx context.Context, name, subresource string, in, out proto.Message) error {
	return r.a.UpdateSubresource(ctx, name, subresource, in, out)
}

// CreateSubresource posts in to a subresource ("binding" of pods) and decodes the answer
// into out (nil: discard).
func (r *Resource[T]) CreateSubresource(ctx context.Context, name, subresource string, in, out proto.Message) error {
	return r.a.CreateSubresource(ctx, name, subresource, in, out)
}

// Watch streams the changes matching opts; see Watch.
func (r *Resource[T]) Watch(ctx context.Context, opts ListOptions) (Watch[T], error) {
	return r.a.watch(ctx, opts)
}

// Info returns the scheme entry of the resource.
func (r *Resource[T]) Info() *scheme.Resource { return r.a.res }

// Namespace returns the namespace this Resource is bound to ("" for all or cluster-scoped).
func (r *Resource[T]) Namespace() string { return r.a.ns }

// Dynamic is untyped access to one resource (kubectl, garbage collection, generic code):
// the same methods as Resource, on scheme.Object values of the resource's Go type.
type Dynamic struct {
	a access[scheme.Object]
}

// Resource returns untyped access to res in namespace.
func (c *Clientset) Resource(res *scheme.Resource, namespace string) *Dynamic {
	return &Dynamic{a: newAccess[scheme.Object](c, res, namespace)}
}

// Get returns the named object.
func (d *Dynamic) Get(ctx context.Context, name string) (scheme.Object, error) {
	return d.a.Get(ctx, name)
}

// List returns the objects matching opts.
func (d *Dynamic) List(ctx context.Context, opts ListOptions) (*List[scheme.Object], error) {
	return d.a.List(ctx, opts)
}

// Create creates obj, which must be of the resource's Go type.
func (d *Dynamic) Create(ctx context.Context, obj scheme.Object) (scheme.Object, error) {
	return d.a.Create(ctx, obj)
}

// Update replaces obj.
func (d *Dynamic) Update(ctx context.Context, obj scheme.Object) (scheme.Object, error) {
	return d.a.Update(ctx, obj)
}

// UpdateStatus replaces obj's status.
func (d *Dynamic) UpdateStatus(ctx context.Context, obj scheme.Object) (scheme.Object, error) {
	return d.a.UpdateStatus(ctx, obj)
}

// Delete deletes the named object; opts may be nil.
func (d *Dynamic) Delete(ctx context.Context, name string, opts *metav1.DeleteOptions) error {
	return d.a.Delete(ctx, name, opts)
}

// GetSubresource reads a subresource into out.
func (d *Dynamic) GetSubresource(ctx context.Context, name, subresource string, out proto.Message) error {
	return d.a.GetSubresource(ctx, name, subresource, out)
}

// UpdateSubresource writes in to a subresource and decodes the answer into out.
func (d *Dynamic) UpdateSubresource(ctx context.Context, name, subresource string, in, out proto.Message) error {
	return d.a.UpdateSubresource(ctx, name, subresource, in, out)
}

// CreateSubresource posts in to a subresource and decodes the answer into out.
func (d *Dynamic) CreateSubresource(ctx context.Context, name, subresource string, in, out proto.Message) error {
	return d.a.CreateSubresource(ctx, name, subresource, in, out)
}

// Watch streams the changes matching opts.
func (d *Dynamic) Watch(ctx context.Context, opts ListOptions) (Watch[scheme.Object], error) {
	return d.a.watch(ctx, opts)
}

// Info returns the scheme entry of the resource.
func (d *Dynamic) Info() *scheme.Resource { return d.a.res }

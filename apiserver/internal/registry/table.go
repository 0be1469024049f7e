// Package registry is the apiserver's resource table: one entry per served resource with
// the scheme's facts (names, kind, scope, Go type) and the storage that serves it. The
// REST and gRPC layers, discovery and metrics are all driven by this one table
// (design.md §2). Per-resource behaviour comes from a Strategy (strategy.go).
package registry

import (
	"context"
	"sort"
	"sync"

	"google.golang.org/protobuf/proto"

	metav1 "kube5/proto/api/meta/v1"
	rpcv1 "kube5/proto/api/rpc/v1"
	"kube5/proto/scheme"
)

// Storage is what serves one resource. The generic store implements all of it; special
// resources (componentstatuses) return MethodNotSupported for what they lack.
type Storage interface {
	Get(ctx context.Context, namespace, name string) (scheme.Object, error)
	List(ctx context.Context, namespace string, opts *rpcv1.ListOptions) (*ListResult, error)
	Watch(ctx context.Context, namespace string, opts *rpcv1.ListOptions) (Watch, error)
	Create(ctx context.Context, namespace string, obj scheme.Object, dryRun bool) (scheme.Object, error)
	Update(ctx context.Context, namespace, name, subresource string, obj scheme.Object, dryRun bool) (scheme.Object, error)
	// Delete returns the object after the call and whether it is gone from storage (false
	// while a graceful deletion or finalizers keep it).
	Delete(ctx context.Context, namespace, name string, opts *metav1.DeleteOptions) (scheme.Object, bool, error)
}

// Item is one object of a list or watch event, with its encodings computed once and
// shared by every client that receives it.
type Item interface {
	// Object is shared: callers must not modify it.
	Object() scheme.Object
	// Proto is the proto encoding with metadata.resourceVersion set.
	Proto() []byte
	// Memo returns f() computed once per item (the REST layer keeps its JSON there).
	Memo(f func() []byte) []byte
}

// ListResult is a page of a list.
type ListResult struct {
	Items           []Item
	ResourceVersion string
	Continue        string
}

// Event types, as upstream's watch.EventType.
const (
	Added    = "ADDED"
	Modified = "MODIFIED"
	Deleted  = "DELETED"
	Bookmark = "BOOKMARK"
	Error    = "ERROR"
)

// Event is one watch event. A Bookmark carries only a resourceVersion; an Error a Status.
type Event struct {
	Type            string
	Item            Item
	ResourceVersion string
	Status          *metav1.Status
}

// Watch is a running watch. Next hands over events one by one in the caller's goroutine
// (no relay goroutine per watcher: with thousands of watchers every hop costs).
type Watch interface {
	// Next blocks until the next event; false once the watch ended or ctx is done.
	Next(ctx context.Context) (Event, bool)
	// Pending is the number of events ready now (the REST layer flushes when none are).
	Pending() int
	Stop()
}

// Entry is one row of the table.
type Entry struct {
	*scheme.Resource
	Storage Storage
	// Subresources served besides the object: "status", "scale", "binding".
	Subresources []string
}

// HasSubresource reports whether sub is served.
func (e *Entry) HasSubresource(sub string) bool {
	for _, s := range e.Subresources {
		if s == sub {
			return true
		}
	}
	return false
}

// Table is the set of served resources.
type Table struct {
	entries map[string]*Entry // "group/resource"
}

// NewTable builds a table of entries.
func NewTable(entries ...*Entry) *Table {
	t := &Table{entries: map[string]*Entry{}}
	for _, e := range entries {
		t.entries[e.Group+"/"+e.Resource.Resource] = e
	}
	return t
}

// Lookup finds the entry of group ("" core) and resource plural.
func (t *Table) Lookup(group, resource string) (*Entry, bool) {
	e, ok := t.entries[group+"/"+resource]
	return e, ok
}

// Entries lists every entry, sorted by group and resource.
func (t *Table) Entries() []*Entry {
	out := make([]*Entry, 0, len(t.entries))
	for _, e := range t.entries {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Group != out[j].Group {
			return out[i].Group < out[j].Group
		}
		return out[i].Resource.Resource < out[j].Resource.Resource
	})
	return out
}

// Scaler serves the scale subresource (deployments, replicasets, replicationcontrollers).
type Scaler interface {
	GetScale(ctx context.Context, namespace, name string) (scheme.Object, error)
	UpdateScale(ctx context.Context, namespace, name string, scale scheme.Object, dryRun bool) (scheme.Object, error)
}

// Binder serves pods/binding: it sets spec.nodeName once.
type Binder interface {
	Bind(ctx context.Context, namespace, name string, binding scheme.Object, dryRun bool) error
}

// plainItem is an Item for objects that do not come from the watch cache (computed
// resources such as componentstatuses).
type plainItem struct {
	obj  scheme.Object
	once sync.Once
	pb   []byte
	memo []byte
	mu   sync.Mutex
}

// NewItem wraps obj as an Item; its encodings are computed on first use.
func NewItem(obj scheme.Object) Item { return &plainItem{obj: obj} }

func (p *plainItem) Object() scheme.Object { return p.obj }

func (p *plainItem) Proto() []byte {
	p.once.Do(func() { p.pb, _ = proto.MarshalOptions{Deterministic: true}.Marshal(p.obj) })
	return p.pb
}

func (p *plainItem) Memo(f func() []byte) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.memo == nil {
		p.memo = f()
	}
	return p.memo
}

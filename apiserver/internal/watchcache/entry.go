package watchcache

import (
	"sync"

	"google.golang.org/protobuf/proto"

	"kube5/apiserver/internal/storage"
	"kube5/proto/fields"
	"kube5/proto/labels"
	"kube5/proto/scheme"
)

// AttrFunc returns the labels and the selectable fields of an object. The apiserver
// supplies one per resource (metadata.name, metadata.namespace, spec.nodeName, ...). The
// returned sets are kept with the entry and must not be modified afterwards.
type AttrFunc func(scheme.Object) (labels.Set, fields.Set)

// DefaultAttrs selects on labels, metadata.name and metadata.namespace, which every
// resource supports.
func DefaultAttrs(obj scheme.Object) (labels.Set, fields.Set) {
	md := obj.GetMetadata()
	return md.GetLabels(), fields.Set{"metadata.name": md.GetName(), "metadata.namespace": md.GetNamespace()}
}

// Entry is one version of one object as the cache holds it. Entries are shared by every
// List, Get and watcher that returns them: treat every field as read-only. Object in
// particular must never be modified; call Copy for a mutable one.
type Entry struct {
	// Key is the object's etcd key.
	Key string
	// Object is the decoded object with metadata.resourceVersion set. Shared: read only.
	Object scheme.Object
	// Bytes is Object's proto encoding (resourceVersion included), made once so the gRPC
	// layer sends the same bytes to every client.
	Bytes []byte
	// Revision is Object's resourceVersion.
	Revision int64
	// Labels and Fields are what selectors match against.
	Labels labels.Set
	Fields fields.Set

	memoOnce sync.Once
	memo     []byte
}

// Copy returns a deep copy of Object that the caller owns.
func (e *Entry) Copy() scheme.Object { return proto.Clone(e.Object).(scheme.Object) }

// Memo returns the result of f, computed on the first call only: the REST layer keeps one
// JSON encoding per entry here so a thousand watchers cost one encoding. Every caller
// must pass an equivalent f.
func (e *Entry) Memo(f func() []byte) []byte {
	e.memoOnce.Do(func() { e.memo = f() })
	return e.memo
}

// marshal is deterministic so that an entry's bytes do not depend on map iteration.
var marshal = proto.MarshalOptions{Deterministic: true}

// newEntry wraps an object whose resourceVersion is already set to rev.
func newEntry(key string, obj scheme.Object, rev int64, attrs AttrFunc) (*Entry, error) {
	b, err := marshal.Marshal(obj)
	if err != nil {
		return nil, err
	}
	l, f := attrs(obj)
	return &Entry{Key: key, Object: obj, Bytes: b, Revision: rev, Labels: l, Fields: f}, nil
}

// withRevision returns a copy of e's object stamped with another resourceVersion: a
// DELETED event carries the object's last state at the deletion's revision.
func (e *Entry) withRevision(rev int64) (*Entry, error) {
	obj := e.Copy()
	storage.SetResourceVersion(obj, rev)
	b, err := marshal.Marshal(obj)
	if err != nil {
		return nil, err
	}
	return &Entry{Key: e.Key, Object: obj, Bytes: b, Revision: rev, Labels: e.Labels, Fields: e.Fields}, nil
}

// EventType is the type of a watch event, spelled as on the wire.
type EventType string

// The watch event types, as upstream's.
const (
	Added    EventType = "ADDED"
	Modified EventType = "MODIFIED"
	Deleted  EventType = "DELETED"
	Bookmark EventType = "BOOKMARK"
	Error    EventType = "ERROR"
)

// Event is what a watcher receives.
type Event struct {
	Type EventType
	// Entry is the object: the new state for ADDED and MODIFIED; for DELETED the last
	// state stamped with the deletion's (or, for an object that stopped matching the
	// watcher's selectors, the change's) revision; for BOOKMARK an empty object whose only
	// field is metadata.resourceVersion. Nil for ERROR.
	Entry *Entry
	// Err is set for ERROR: a *storage.Error (Gone: relist; TooManyRequests: the watcher
	// fell behind, re-watch from the last resourceVersion seen). The result channel is
	// closed right after.
	Err error
}

// event is one change in the cache's history.
type event struct {
	typ  EventType // Added, Modified or Deleted, as etcd saw it
	cur  *Entry    // new state; for Deleted the last state at the deletion revision
	prev *Entry    // state before; nil for Added
	rev  int64

	// leave is prev's object at this event's revision, made on first need for watchers
	// the object stops matching (upstream sends the old content, new resourceVersion).
	leaveOnce sync.Once
	leave     *Entry
}

func (ev *event) leaveEntry() *Entry {
	ev.leaveOnce.Do(func() {
		e, err := ev.prev.withRevision(ev.rev)
		if err != nil {
			e = ev.cur // cannot happen for an object that encoded before; degrade gracefully
		}
		ev.leave = e
	})
	return ev.leave
}

package client

import (
	"context"
	"errors"
	"io"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"k8s.io/klog/v2"

	metav1 "kube5/proto/api/meta/v1"
	rpcv1 "kube5/proto/api/rpc/v1"
	"kube5/proto/apierrors"
	"kube5/proto/scheme"
)

// EventType is the type of a watch event, with upstream's wire values.
type EventType string

// The watch event types.
const (
	Added    EventType = "ADDED"
	Modified EventType = "MODIFIED"
	Deleted  EventType = "DELETED"
	Bookmark EventType = "BOOKMARK"
	Error    EventType = "ERROR"
)

// Event is one change. For Added and Modified, Object is the new state; for Deleted, the
// last state (its resourceVersion is the revision of the deletion); for Bookmark, an
// object with only metadata.resourceVersion set; for Error, Object is the zero T and
// Status says what went wrong (410 Expired/Gone: the watch's revision was compacted —
// relist).
type Event[T scheme.Object] struct {
	Type   EventType
	Object T
	Status *metav1.Status
}

// Watch is a running watch, as upstream's watch.Interface.
type Watch[T scheme.Object] interface {
	// ResultChan delivers the events in order. It is closed when the watch ends: Stop,
	// the caller's context, the server ending the stream (timeout, an Error event), or the
	// connection breaking.
	ResultChan() <-chan Event[T]
	// Stop ends the watch; the channel is closed soon after. It may be called many times.
	Stop()
	// Err is valid once the channel is closed: nil when the watch ended normally (Stop,
	// context, the server closing the stream, or after an Error event, which reported the
	// failure itself), otherwise the transport error that broke the stream (a
	// ServiceUnavailable *apierrors.StatusError when the apiserver went away).
	Err() error
}

type streamWatch[T scheme.Object] struct {
	ch     chan Event[T]
	cancel context.CancelFunc
	mu     sync.Mutex
	err    error
}

func (w *streamWatch[T]) ResultChan() <-chan Event[T] { return w.ch }
func (w *streamWatch[T]) Stop()                       { w.cancel() }
func (w *streamWatch[T]) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// watch opens the stream. It returns as soon as the call is started, without waiting for
// the server: an error the server answers with (a compacted revision, a bad selector)
// arrives as an Error event, the way upstream's apiserver reports them inside a watch.
func (a *access[T]) watch(ctx context.Context, opts ListOptions) (Watch[T], error) {
	ctx, cancel := context.WithCancel(ctx)
	stream, err := a.c.rpc.Watch(ctx, &rpcv1.WatchRequest{Ref: a.ref(""), Options: opts.proto()})
	if err != nil {
		cancel()
		return nil, apierrors.FromGRPC(err)
	}
	w := &streamWatch[T]{ch: make(chan Event[T]), cancel: cancel}
	go a.receive(ctx, stream, w)
	return w, nil
}

func (a *access[T]) receive(ctx context.Context, stream rpcv1.Resources_WatchClient, w *streamWatch[T]) {
	defer close(w.ch)
	defer w.cancel()
	send := func(ev Event[T]) bool {
		select {
		case w.ch <- ev:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		msg, err := stream.Recv()
		if err != nil {
			a.streamEnded(ctx, err, w, send)
			return
		}
		ev := Event[T]{Type: EventType(msg.GetType())}
		switch ev.Type {
		case Error:
			st := &metav1.Status{}
			if err := proto.Unmarshal(msg.GetObject(), st); err != nil {
				st = apierrors.NewInternalError(err).ErrStatus
			}
			ev.Status = st
			send(ev)
			// Upstream ends a watch after an ERROR event; the stream has nothing more.
			return
		case Added, Modified, Deleted, Bookmark:
			obj, err := a.decode(msg.GetObject())
			if err != nil {
				send(Event[T]{Type: Error, Status: apierrors.StatusFor(err)})
				return
			}
			ev.Object = obj
		default:
			klog.V(2).InfoS("Ignoring watch event of unknown type", "resource", a.res.GroupResource(), "type", msg.GetType())
			continue
		}
		if !send(ev) {
			return
		}
	}
}

// streamEnded classifies the end of a stream: a clean end or the caller's cancellation
// closes quietly; a Status the server sent (Gone, bad selector) becomes an Error event;
// a transport failure closes the channel with Err set, as upstream's StreamWatcher
// treats a reset connection — the consumer resumes from its last revision.
func (a *access[T]) streamEnded(ctx context.Context, err error, w *streamWatch[T], send func(Event[T]) bool) {
	if errors.Is(err, io.EOF) || ctx.Err() != nil {
		return
	}
	if s, ok := status.FromError(err); ok && s.Code() != codes.Unavailable && hasStatusDetail(s) {
		send(Event[T]{Type: Error, Status: apierrors.StatusFor(apierrors.FromGRPC(err))})
		return
	}
	converted := apierrors.FromGRPC(err)
	klog.V(4).InfoS("Watch stream broke", "resource", a.res.GroupResource(), "err", converted)
	w.mu.Lock()
	w.err = converted
	w.mu.Unlock()
}

func hasStatusDetail(s *status.Status) bool {
	for _, d := range s.Proto().GetDetails() {
		if d.MessageIs(&metav1.Status{}) {
			return true
		}
	}
	return false
}

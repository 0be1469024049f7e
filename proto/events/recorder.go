// Package events records core/v1 Events about objects, as upstream's record.EventRecorder:
// what controllers, the scheduler and the kubelet did (SuccessfulCreate, Scheduled,
// FailedScheduling, Pulled, ...), shown by `kubectl describe`. Repeats of the same event
// (same object, type, reason and message) within the aggregation window update the
// existing Event's count and lastTimestamp instead of creating another object. Recording
// never blocks the caller: events queue in a bounded buffer and are dropped (with a log
// line) when the apiserver cannot keep up, as upstream does.
package events

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
	"k8s.io/klog/v2"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors"
	"kube5/proto/client"
	"kube5/proto/scheme"
)

// Event types.
const (
	Normal  = "Normal"
	Warning = "Warning"
)

// Sink is where events go; the Clientset satisfies it through clientSink, tests may use
// a fake.
type Sink interface {
	Create(ctx context.Context, ev *corev1.Event) (*corev1.Event, error)
	Update(ctx context.Context, ev *corev1.Event) (*corev1.Event, error)
}

type clientSink struct{ c *client.Clientset }

func (s clientSink) Create(ctx context.Context, ev *corev1.Event) (*corev1.Event, error) {
	return s.c.Events(ev.GetMetadata().GetNamespace()).Create(ctx, ev)
}

func (s clientSink) Update(ctx context.Context, ev *corev1.Event) (*corev1.Event, error) {
	return s.c.Events(ev.GetMetadata().GetNamespace()).Update(ctx, ev)
}

// Recorder records events for one component.
type Recorder struct {
	sink      Sink
	component string
	host      string
	queue     chan *corev1.Event
	now       func() time.Time

	mu   sync.Mutex
	seen map[string]*corev1.Event // aggregation key -> last stored event
}

// NewRecorder records events as component (e.g. "deployment-controller",
// "default-scheduler", "kubelet") on host ("" for control-plane components). Call Run to
// start delivering.
func NewRecorder(c *client.Clientset, component, host string) *Recorder {
	return NewRecorderWithSink(clientSink{c}, component, host)
}

// NewRecorderWithSink is NewRecorder with another sink (tests).
func NewRecorderWithSink(sink Sink, component, host string) *Recorder {
	return &Recorder{sink: sink, component: component, host: host, queue: make(chan *corev1.Event, 1000),
		now: time.Now, seen: map[string]*corev1.Event{}}
}

// Run delivers queued events until ctx ends.
func (r *Recorder) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-r.queue:
			r.deliver(ctx, ev)
		}
	}
}

// Event records an event about obj.
func (r *Recorder) Event(obj scheme.Object, eventType, reason, message string) {
	ev := r.build(obj, eventType, reason, message)
	select {
	case r.queue <- ev:
	default:
		klog.V(2).InfoS("Dropping event: too many queued", "object", klog.KObj(obj.GetMetadata()), "reason", reason)
	}
}

// Eventf records an event with a formatted message.
func (r *Recorder) Eventf(obj scheme.Object, eventType, reason, format string, args ...any) {
	r.Event(obj, eventType, reason, fmt.Sprintf(format, args...))
}

// Reference returns the ObjectReference of obj, as events and bindings carry it.
func Reference(obj scheme.Object) *corev1.ObjectReference {
	m := obj.GetMetadata()
	ref := &corev1.ObjectReference{Namespace: m.GetNamespace(), Name: m.GetName(), Uid: m.GetUid(), ResourceVersion: m.GetResourceVersion()}
	if res, ok := scheme.For(obj); ok {
		ref.Kind, ref.ApiVersion = res.Kind, res.GroupVersion()
	}
	return ref
}

func (r *Recorder) build(obj scheme.Object, eventType, reason, message string) *corev1.Event {
	ref := Reference(obj)
	ns := ref.Namespace
	if ns == "" {
		ns = "default" // events about cluster-scoped objects live in default, as upstream
	}
	now := metav1.NewTime(r.now())
	return &corev1.Event{
		Metadata:           &metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", ref.Name, r.now().UnixNano()), Namespace: ns},
		InvolvedObject:     ref,
		Reason:             reason,
		Message:            message,
		Source:             &corev1.EventSource{Component: r.component, Host: r.host},
		FirstTimestamp:     now,
		LastTimestamp:      now,
		Count:              1,
		Type:               eventType,
		ReportingComponent: r.component,
		ReportingInstance:  r.host,
	}
}

func aggregationKey(ev *corev1.Event) string {
	o := ev.GetInvolvedObject()
	h := sha256.Sum256([]byte(o.GetKind() + "\x00" + o.GetNamespace() + "\x00" + o.GetName() + "\x00" + o.GetUid() + "\x00" +
		ev.GetType() + "\x00" + ev.GetReason() + "\x00" + ev.GetMessage()))
	return hex.EncodeToString(h[:8])
}

// deliver creates the event, or bumps the count of the same event seen before.
func (r *Recorder) deliver(ctx context.Context, ev *corev1.Event) {
	key := aggregationKey(ev)
	r.mu.Lock()
	prev := r.seen[key]
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if prev != nil {
		next := proto.Clone(prev).(*corev1.Event)
		next.Count = prev.Count + 1
		next.LastTimestamp = ev.LastTimestamp
		if out, err := r.sink.Update(ctx, next); err == nil {
			r.remember(key, out)
			return
		} else if !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			klog.V(2).InfoS("Could not update event", "err", err)
			return
		}
		// The event expired or changed: start a new one.
	}
	out, err := r.sink.Create(ctx, ev)
	if err != nil {
		klog.V(2).InfoS("Could not record event", "reason", ev.GetReason(), "object", ev.GetInvolvedObject().GetName(), "err", err)
		return
	}
	r.remember(key, out)
}

func (r *Recorder) remember(key string, ev *corev1.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.seen) > 4096 { // bound the cache: forget everything, as an LRU would, eventually
		r.seen = map[string]*corev1.Event{}
	}
	r.seen[key] = ev
}

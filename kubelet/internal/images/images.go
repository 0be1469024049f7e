// Package images applies a container's imagePullPolicy before it is created: Never,
// IfNotPresent, Always, with upstream's waiting reasons (ErrImageNeverPull, ErrImagePull,
// ImagePullBackOff), events, and a per-image pull back-off (10s doubling to 5m).
package images

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "kube5/proto/api/core/v1"
	"kube5/proto/events"
	"kube5/proto/scheme"

	"kube5/kubelet/internal/runtime"
)

// The waiting reasons, as upstream's.
const (
	ReasonErrImagePull      = "ErrImagePull"
	ReasonImagePullBackOff  = "ImagePullBackOff"
	ReasonErrImageNeverPull = "ErrImageNeverPull"
	ReasonInvalidImageName  = "InvalidImageName"
)

// Recorder records events (events.Recorder satisfies it).
type Recorder interface {
	Eventf(obj scheme.Object, eventType, reason, format string, args ...any)
}

// Error is a failure to make an image present, with the container's waiting reason.
type Error struct {
	Reason, Message string
}

func (e *Error) Error() string { return e.Reason + ": " + e.Message }

// Manager makes images present, as their pull policy says.
type Manager struct {
	rt                runtime.Runtime
	rec               Recorder
	initial, maxDelay time.Duration
	now               func() time.Time
	mu                sync.Mutex
	backoff           map[string]*entry // image -> pull back-off
}

type entry struct {
	until time.Time
	delay time.Duration
}

// New returns a manager pulling through rt.
func New(rt runtime.Runtime, rec Recorder) *Manager {
	return &Manager{rt: rt, rec: rec, initial: 10 * time.Second, maxDelay: 5 * time.Minute, now: time.Now, backoff: map[string]*entry{}}
}

// PullPolicy is the container's policy, defaulted as upstream: Always for :latest or no
// tag, IfNotPresent otherwise.
func PullPolicy(c *corev1.Container) string {
	if p := c.GetImagePullPolicy(); p != "" {
		return p
	}
	img := c.GetImage()
	if strings.HasSuffix(runtime.NormalizeImage(img), ":latest") {
		return "Always"
	}
	return "IfNotPresent"
}

// Ensure makes c's image present for pod, or says why it is not (an *Error).
func (m *Manager) Ensure(ctx context.Context, pod *corev1.Pod, c *corev1.Container) error {
	img := c.GetImage()
	if img == "" || strings.ContainsAny(img, " \t") {
		return &Error{ReasonInvalidImageName, fmt.Sprintf("Failed to apply default image tag %q: invalid reference format", img)}
	}
	_, err := m.rt.ImageStatus(ctx, img)
	present := err == nil
	if err != nil && !errors.Is(err, runtime.ErrImageNotFound) {
		return &Error{ReasonErrImagePull, err.Error()}
	}
	policy := PullPolicy(c)
	switch {
	case policy == "Never" && !present:
		msg := fmt.Sprintf("Container image %q is not present with pull policy of Never", img)
		m.rec.Eventf(pod, events.Warning, ReasonErrImageNeverPull, "%s", msg)
		return &Error{ReasonErrImageNeverPull, msg}
	case present && policy != "Always":
		m.rec.Eventf(pod, events.Normal, "Pulled", "Container image %q already present on machine", img)
		return nil
	}
	m.mu.Lock()
	b := m.backoff[img]
	now := m.now()
	if b != nil && now.Before(b.until) {
		m.mu.Unlock()
		msg := fmt.Sprintf("Back-off pulling image %q", img)
		m.rec.Eventf(pod, events.Normal, "BackOff", "%s", msg)
		return &Error{ReasonImagePullBackOff, msg}
	}
	m.mu.Unlock()
	m.rec.Eventf(pod, events.Normal, "Pulling", "Pulling image %q", img)
	start := m.now()
	if err := m.rt.PullImage(ctx, img); err != nil {
		m.mu.Lock()
		if b == nil {
			b = &entry{delay: m.initial}
			m.backoff[img] = b
		} else {
			b.delay = min(2*b.delay, m.maxDelay)
		}
		b.until = m.now().Add(b.delay)
		m.mu.Unlock()
		msg := fmt.Sprintf("Failed to pull image %q: %v", img, err)
		m.rec.Eventf(pod, events.Warning, "Failed", "%s", msg)
		return &Error{ReasonErrImagePull, msg}
	}
	m.mu.Lock()
	delete(m.backoff, img)
	m.mu.Unlock()
	m.rec.Eventf(pod, events.Normal, "Pulled", "Successfully pulled image %q in %s", img, m.now().Sub(start).Round(time.Millisecond))
	return nil
}

// RetryAt is when a backed-off image may be pulled again (zero: now).
func (m *Manager) RetryAt(img string) time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	if b := m.backoff[img]; b != nil {
		return b.until
	}
	return time.Time{}
}

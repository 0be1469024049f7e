// Package componentstatus serves the read-only componentstatuses resource: each request
// probes etcd and the scheduler's and controller-manager's health endpoints (design.md
// §4), as upstream's does, so `kubectl get cs` tells at once what is down.
package componentstatus

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"kube5/apiserver/internal/registry"
	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	rpcv1 "kube5/proto/api/rpc/v1"
	"kube5/proto/apierrors"
	"kube5/proto/scheme"
)

// Probe checks one component: nil error and a message when healthy.
type Probe func(ctx context.Context) (message string, err error)

// Storage implements registry.Storage for componentstatuses.
type Storage struct {
	probes map[string]Probe
}

// New serves the given probes by component name.
func New(probes map[string]Probe) *Storage { return &Storage{probes: probes} }

// HTTPProbe checks url answers 200 within a few seconds; the message is the body.
func HTTPProbe(url string) Probe {
	return func(ctx context.Context) (string, error) {
		ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", fmt.Errorf("Get %q: %v", url, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("%s answered %d: %s", url, resp.StatusCode, strings.TrimSpace(string(b)))
		}
		return strings.TrimSpace(string(b)), nil
	}
}

var gr = apierrors.GroupResource{Resource: "componentstatuses"}

func (s *Storage) status(ctx context.Context, name string) *corev1.ComponentStatus {
	msg, err := s.probes[name](ctx)
	cond := &corev1.ComponentCondition{Type: "Healthy", Status: "True", Message: msg}
	if err != nil {
		cond.Status, cond.Message, cond.Error = "False", "", err.Error()
	}
	return &corev1.ComponentStatus{Metadata: &metav1.ObjectMeta{Name: name}, Conditions: []*corev1.ComponentCondition{cond}}
}

func (s *Storage) Get(ctx context.Context, _, name string) (scheme.Object, error) {
	if _, ok := s.probes[name]; !ok {
		return nil, apierrors.NewNotFound(gr, name)
	}
	return s.status(ctx, name), nil
}

// List probes every component in parallel.
func (s *Storage) List(ctx context.Context, _ string, _ *rpcv1.ListOptions) (*registry.ListResult, error) {
	names := make([]string, 0, len(s.probes))
	for n := range s.probes {
		names = append(names, n)
	}
	sort.Strings(names)
	items := make([]registry.Item, len(names))
	var wg sync.WaitGroup
	for i, n := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			items[i] = registry.NewItem(s.status(ctx, n))
		}()
	}
	wg.Wait()
	return &registry.ListResult{Items: items}, nil
}

func (s *Storage) Watch(context.Context, string, *rpcv1.ListOptions) (registry.Watch, error) {
	return nil, apierrors.NewMethodNotSupported(gr, "watch")
}

func (s *Storage) Create(context.Context, string, scheme.Object, bool) (scheme.Object, error) {
	return nil, apierrors.NewMethodNotSupported(gr, "create")
}

func (s *Storage) Update(context.Context, string, string, string, scheme.Object, bool) (scheme.Object, error) {
	return nil, apierrors.NewMethodNotSupported(gr, "update")
}

func (s *Storage) Delete(context.Context, string, string, *metav1.DeleteOptions) (scheme.Object, bool, error) {
	return nil, false, apierrors.NewMethodNotSupported(gr, "delete")
}

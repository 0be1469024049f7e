package app

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"k8s.io/klog/v2"

	"kube5/apiserver/internal/allocator"
	"kube5/apiserver/internal/componentstatus"
	"kube5/apiserver/internal/registry"
	"kube5/apiserver/internal/registry/builtin"
	"kube5/apiserver/internal/registry/generic"
	"kube5/apiserver/internal/registry/pod"
	"kube5/apiserver/internal/storage"
	"kube5/apiserver/internal/watchcache"
	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors"
	"kube5/proto/fields"
	"kube5/proto/labels"
	"kube5/proto/scheme"
)

// APIConfig is what the API needs besides etcd.
type APIConfig struct {
	ServiceClusterIPRange      string
	ServiceNodePortRange       string
	BookmarkInterval           time.Duration
	SchedulerHealthURL         string
	ControllerManagerHealthURL string
	// PodTolerations are the tolerationSeconds of the default not-ready and unreachable
	// tolerations of pods; nil is upstream's 300s.
	PodTolerations *pod.TolerationSeconds
}

// API is the resource table with its storage and caches.
type API struct {
	Table   *registry.Table
	Storage *storage.Store
	caches  []*watchcache.Cache
	cancel  context.CancelFunc

	// services and endpoints feed the kubernetes service's controller; firstIP is the
	// address it asks for (the first of --service-cluster-ip-range, as upstream).
	services, endpoints *generic.Store
	firstIP             netip.Addr
}

// indexField is the exact-match field each cache indexes its watchers by: every kubelet
// watches pods with spec.nodeName=<its node>.
var indexField = map[string]string{"/pods": "spec.nodeName"}

// scalable resources serve the scale subresource.
var scalable = map[string]bool{"apps/deployments": true, "apps/replicasets": true, "/replicationcontrollers": true}

// NewAPI builds one generic store (and watch cache) per resource of the scheme, with the
// strategy of builtin.Strategies, and creates the namespaces every cluster has.
func NewAPI(ctx context.Context, cli *clientv3.Client, cfg APIConfig) (*API, error) {
	ctx, cancel := context.WithCancel(ctx)
	a := &API{cancel: cancel}
	ips, err := allocator.NewIPs(ctx, cli, cfg.ServiceClusterIPRange)
	if err != nil {
		cancel()
		return nil, err
	}
	ports, err := allocator.NewPorts(ctx, cli, cfg.ServiceNodePortRange)
	if err != nil {
		cancel()
		return nil, err
	}
	st := storage.New(cli)
	a.Storage = st
	a.firstIP = ips.CIDR().Addr().Next()
	strategies := builtin.Strategies()
	var nsStore *generic.Store
	nsLookup := func(ctx context.Context, name string) (*corev1.Namespace, error) {
		obj, err := nsStore.Cached(ctx, "", name)
		if err != nil {
			return nil, err
		}
		return obj.(*corev1.Namespace), nil
	}
	var entries []*registry.Entry
	var podStore *generic.Store
	var bindings *scheme.Resource
	for _, r := range scheme.All() {
		key := r.Group + "/" + r.Resource
		switch key {
		case "/bindings": // binds through the pods' store, once it exists
			bindings = r
			continue
		case "/componentstatuses":
			entries = append(entries, &registry.Entry{Resource: r, Storage: componentstatus.New(map[string]componentstatus.Probe{
				"etcd-0":             etcdProbe(cli),
				"scheduler":          componentstatus.HTTPProbe(cfg.SchedulerHealthURL),
				"controller-manager": componentstatus.HTTPProbe(cfg.ControllerManagerHealthURL),
			})})
			continue
		}
		strategy, ok := strategies[key]
		if !ok {
			cancel()
			return nil, fmt.Errorf("no strategy for %s", key)
		}
		if key == "/services" {
			strategy = allocator.ServiceStrategy{Strategy: strategy, IPs: ips, Ports: ports}
		}
		if key == "/pods" && cfg.PodTolerations != nil {
			strategy = pod.NewStrategy(*cfg.PodTolerations)
		}
		cache := watchcache.New(cli, "/registry/"+r.Resource+"/", r.New, attrsFunc(strategy), watchcache.Options{
			Group: r.Group, Version: r.Version, Kind: r.Kind, Resource: r.Resource,
			BookmarkInterval: cfg.BookmarkInterval, IndexField: indexField[key],
			// Room for a second of events at a few hundred writes per second before a
			// watcher counts as stalled; ~10 kB per watcher.
			WatcherBuffer: 256,
		})
		a.caches = append(a.caches, cache)
		var lookup generic.NamespaceLookup
		if r.Namespaced {
			lookup = nsLookup
		}
		store := generic.NewStore(r, strategy, st, cache, lookup)
		switch key {
		case "/namespaces":
			nsStore = store
		case "/services":
			a.services = store
		case "/endpoints":
			a.endpoints = store
		}
		e := &registry.Entry{Resource: r, Storage: store}
		if r.New().ProtoReflect().Descriptor().Fields().ByName("status") != nil {
			e.Subresources = append(e.Subresources, "status")
		}
		if scalable[key] {
			e.Subresources = append(e.Subresources, "scale")
		}
		if key == "/pods" {
			e.Subresources = append(e.Subresources, "binding", "eviction")
			podStore = store
		}
		entries = append(entries, e)
	}
	if bindings != nil && podStore != nil {
		entries = append(entries, &registry.Entry{Resource: bindings, Storage: generic.Bindings{Pods: podStore}})
	}
	for _, c := range a.caches {
		c.Start(ctx)
	}
	// A large etcd takes a while to list: wait up to a minute, a cache at a time.
	readyCtx, cancelReady := context.WithTimeout(ctx, time.Minute)
	defer cancelReady()
	for _, c := range a.caches {
		for {
			err := c.WaitReady(readyCtx)
			if err == nil {
				break
			}
			if readyCtx.Err() != nil {
				a.Stop()
				return nil, fmt.Errorf("filling the watch cache of %s from etcd: %w", c.Prefix(), err)
			}
		}
	}
	a.Table = registry.NewTable(entries...)
	if err := a.bootstrap(ctx, nsStore); err != nil {
		a.Stop()
		return nil, err
	}
	return a, nil
}

// bootstrap creates the namespaces every cluster has (upstream's system namespaces).
func (a *API) bootstrap(ctx context.Context, ns *generic.Store) error {
	for _, name := range []string{"default", "kube-system", "kube-public", "kube-node-lease"} {
		_, err := ns.Create(ctx, "", &corev1.Namespace{Metadata: &metav1.ObjectMeta{Name: name}}, false)
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating namespace %s: %w", name, err)
		}
	}
	return nil
}

// Synced reports whether every watch cache has its initial list.
func (a *API) Synced(ctx context.Context) error {
	for _, c := range a.caches {
		if err := c.WaitReady(ctx); err != nil {
			return fmt.Errorf("watch cache of %s not ready: %w", c.Prefix(), err)
		}
	}
	return nil
}

// Stop ends the caches.
func (a *API) Stop() {
	a.cancel()
}

func attrsFunc(s registry.Strategy) watchcache.AttrFunc {
	return func(obj scheme.Object) (labels.Set, fields.Set) {
		return obj.GetMetadata().GetLabels(), s.Fields(obj)
	}
}

func etcdProbe(cli *clientv3.Client) componentstatus.Probe {
	return func(ctx context.Context) (string, error) {
		ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		if _, err := cli.Get(ctx, "/registry/health-check"); err != nil {
			return "", err
		}
		return `{"health":"true","reason":""}`, nil
	}
}

// quietZap keeps the etcd client's own logging to errors: klog carries ours.
func quietZap() *zap.Logger {
	cfg := zap.NewProductionConfig()
	cfg.Level = zap.NewAtomicLevelAt(zap.ErrorLevel)
	l, err := cfg.Build()
	if err != nil {
		klog.ErrorS(err, "building the etcd client logger")
		return zap.NewNop()
	}
	return l
}

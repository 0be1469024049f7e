// Package grpcapi serves the generic gRPC Resources service (design.md §2) on the resource
// table. Objects travel as their proto encoding; list items and watch events reuse the
// bytes the watch cache encoded once, so a thousand watchers cost one encoding per event.
package grpcapi

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"k8s.io/klog/v2"

	"kube5/apiserver/internal/metrics"
	"kube5/apiserver/internal/registry"
	"kube5/apiserver/internal/registry/poddisruptionbudget"
	policyv1 "kube5/proto/api/policy/v1"
	rpcv1 "kube5/proto/api/rpc/v1"
	"kube5/proto/apierrors"
	"kube5/proto/scheme"
)

// Service implements rpcv1.ResourcesServer.
type Service struct {
	rpcv1.UnimplementedResourcesServer
	table *registry.Table
}

// New returns the service of table.
func New(table *registry.Table) *Service { return &Service{table: table} }

// Register adds the service to s.
func (s *Service) Register(g *grpc.Server) { rpcv1.RegisterResourcesServer(g, s) }

// call resolves ref and records the request's metrics around fn.
func (s *Service) call(ref *rpcv1.ResourceRef, verb, name, sub string, fn func(*registry.Entry) error) error {
	start := time.Now()
	e, ok := s.table.Lookup(ref.GetGroup(), ref.GetResource())
	var err error
	if !ok || (ref.GetVersion() != "" && ref.GetVersion() != e.Version) {
		err = apierrors.NewNotFoundMessage(fmt.Sprintf("the server could not find the requested resource %q in group %q", ref.GetResource(), ref.GetGroup()))
	} else {
		err = safely(e, fn)
	}
	scope := "cluster"
	switch {
	case name != "":
		scope = "resource"
	case ref.GetNamespace() != "":
		scope = "namespace"
	}
	code := 200
	if err != nil {
		code = int(apierrors.StatusFor(err).GetCode())
	}
	version := ref.GetVersion()
	if version == "" {
		version = "v1"
	}
	metrics.Request{Verb: verb, Group: ref.GetGroup(), Version: version, Resource: ref.GetResource(), Subresource: sub, Scope: scope, Component: "grpc"}.Observe(code, start)
	return apierrors.ToGRPC(err)
}

// safely runs fn, turning a panic into an InternalError: gRPC, unlike net/http, does not
// recover handler panics, so one bad request would otherwise take the apiserver down.
func safely(e *registry.Entry, fn func(*registry.Entry) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			klog.ErrorS(nil, "Panic serving a gRPC request", "resource", e.Resource.GroupResource(), "panic", r, "stack", string(debug.Stack()))
			err = apierrors.NewInternalError(fmt.Errorf("panic: %v", r))
		}
	}()
	return fn(e)
}

func decode(res *scheme.Resource, b []byte) (scheme.Object, error) {
	obj := res.New()
	if err := proto.Unmarshal(b, obj); err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the body is not a valid %s: %v", res.Kind, err))
	}
	return obj, nil
}

func encode(obj proto.Message) (*rpcv1.ObjectResponse, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(obj)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	return &rpcv1.ObjectResponse{Object: b}, nil
}

// Create serves create and the pods/binding subresource.
func (s *Service) Create(ctx context.Context, req *rpcv1.CreateRequest) (*rpcv1.ObjectResponse, error) {
	var resp *rpcv1.ObjectResponse
	err := s.call(req.GetRef(), "POST", req.GetName(), req.GetSubresource(), func(e *registry.Entry) error {
		ns := req.GetRef().GetNamespace()
		if req.GetSubresource() == "binding" {
			b, ok := e.Storage.(registry.Binder)
			if !ok || !e.HasSubresource("binding") {
				return apierrors.NewNotFoundMessage(e.Resource.Resource + " has no binding subresource")
			}
			bindings, _ := scheme.ByGroupResource("", "bindings")
			obj, err := decode(bindings, req.GetObject())
			if err != nil {
				return err
			}
			if err := b.Bind(ctx, ns, req.GetName(), obj, req.GetDryRun()); err != nil {
				return err
			}
			resp = &rpcv1.ObjectResponse{}
			return nil
		}
		if req.GetSubresource() == "eviction" && e.HasSubresource("eviction") {
			res, _ := scheme.ByKind("policy/v1", "Eviction")
			obj, err := decode(res, req.GetObject())
			if err != nil {
				return err
			}
			if err := poddisruptionbudget.Evict(ctx, s.table, ns, req.GetName(), obj.(*policyv1.Eviction), req.GetDryRun()); err != nil {
				return err
			}
			resp = &rpcv1.ObjectResponse{}
			return nil
		}
		if req.GetSubresource() != "" {
			return apierrors.NewMethodNotSupported(apierrors.GroupResource{Group: e.Group, Resource: e.Resource.Resource + "/" + req.GetSubresource()}, "create")
		}
		obj, err := decode(e.Resource, req.GetObject())
		if err != nil {
			return err
		}
		out, err := e.Storage.Create(ctx, ns, obj, req.GetDryRun())
		if err != nil {
			return err
		}
		resp, err = encode(out)
		return err
	})
	return resp, err
}

// Get serves get, and the status and scale subresources.
func (s *Service) Get(ctx context.Context, req *rpcv1.GetRequest) (*rpcv1.ObjectResponse, error) {
	var resp *rpcv1.ObjectResponse
	err := s.call(req.GetRef(), "GET", req.GetName(), req.GetSubresource(), func(e *registry.Entry) error {
		var out scheme.Object
		var err error
		switch req.GetSubresource() {
		case "", "status":
			out, err = e.Storage.Get(ctx, req.GetRef().GetNamespace(), req.GetName())
		case "scale":
			sc, ok := e.Storage.(registry.Scaler)
			if !ok || !e.HasSubresource("scale") {
				return apierrors.NewNotFoundMessage(e.Resource.Resource + " has no scale subresource")
			}
			out, err = sc.GetScale(ctx, req.GetRef().GetNamespace(), req.GetName())
		default:
			return apierrors.NewNotFoundMessage(fmt.Sprintf("%s has no subresource %q", e.Resource.Resource, req.GetSubresource()))
		}
		if err != nil {
			return err
		}
		resp, err = encode(out)
		return err
	})
	return resp, err
}

// List serves list; items are the cached encodings.
func (s *Service) List(ctx context.Context, req *rpcv1.ListRequest) (*rpcv1.ListResponse, error) {
	var resp *rpcv1.ListResponse
	err := s.call(req.GetRef(), "LIST", "", "", func(e *registry.Entry) error {
		opts := req.GetOptions()
		if opts == nil {
			opts = &rpcv1.ListOptions{}
		}
		res, err := e.Storage.List(ctx, req.GetRef().GetNamespace(), opts)
		if err != nil {
			return err
		}
		resp = &rpcv1.ListResponse{ResourceVersion: res.ResourceVersion, Continue: res.Continue, Items: make([][]byte, len(res.Items))}
		for i, it := range res.Items {
			resp.Items[i] = it.Proto()
		}
		return nil
	})
	return resp, err
}

// Update serves update and the status and scale subresources.
func (s *Service) Update(ctx context.Context, req *rpcv1.UpdateRequest) (*rpcv1.ObjectResponse, error) {
	var resp *rpcv1.ObjectResponse
	err := s.call(req.GetRef(), "PUT", req.GetName(), req.GetSubresource(), func(e *registry.Entry) error {
		ns := req.GetRef().GetNamespace()
		var out scheme.Object
		switch req.GetSubresource() {
		case "scale":
			sc, ok := e.Storage.(registry.Scaler)
			if !ok || !e.HasSubresource("scale") {
				return apierrors.NewNotFoundMessage(e.Resource.Resource + " has no scale subresource")
			}
			scaleRes, _ := scheme.ByKind("autoscaling/v1", "Scale")
			in, err := decode(scaleRes, req.GetObject())
			if err != nil {
				return err
			}
			if out, err = sc.UpdateScale(ctx, ns, req.GetName(), in, req.GetDryRun()); err != nil {
				return err
			}
		case "", "status":
			if req.GetSubresource() == "status" && !e.HasSubresource("status") {
				return apierrors.NewNotFoundMessage(e.Resource.Resource + " has no status subresource")
			}
			in, err := decode(e.Resource, req.GetObject())
			if err != nil {
				return err
			}
			if out, err = e.Storage.Update(ctx, ns, req.GetName(), req.GetSubresource(), in, req.GetDryRun()); err != nil {
				return err
			}
		default:
			return apierrors.NewNotFoundMessage(fmt.Sprintf("%s has no subresource %q", e.Resource.Resource, req.GetSubresource()))
		}
		var err error
		resp, err = encode(out)
		return err
	})
	return resp, err
}

// Delete serves delete; the answer is the object as it is after the call.
func (s *Service) Delete(ctx context.Context, req *rpcv1.DeleteRequest) (*rpcv1.ObjectResponse, error) {
	var resp *rpcv1.ObjectResponse
	err := s.call(req.GetRef(), "DELETE", req.GetName(), "", func(e *registry.Entry) error {
		out, _, err := e.Storage.Delete(ctx, req.GetRef().GetNamespace(), req.GetName(), req.GetOptions())
		if err != nil {
			return err
		}
		resp, err = encode(out)
		return err
	})
	return resp, err
}

// Watch streams events until the client goes away, the timeout passes, or the server
// ends the watch (the client then resumes from its last resourceVersion).
func (s *Service) Watch(req *rpcv1.WatchRequest, stream rpcv1.Resources_WatchServer) error {
	var w registry.Watch
	var res *scheme.Resource
	ctx := stream.Context()
	opts := req.GetOptions()
	if opts == nil {
		opts = &rpcv1.ListOptions{}
	}
	if opts.GetTimeoutSeconds() > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(opts.GetTimeoutSeconds())*time.Second)
		defer cancel()
	}
	err := s.call(req.GetRef(), "WATCH", "", "", func(e *registry.Entry) error {
		var err error
		res = e.Resource
		w, err = e.Storage.Watch(ctx, req.GetRef().GetNamespace(), opts)
		return err
	})
	if err != nil {
		return err
	}
	defer w.Stop()
	for {
		ev, ok := w.Next(ctx)
		if !ok {
			return nil
		}
		{
			out := &rpcv1.WatchEvent{Type: ev.Type}
			switch ev.Type {
			case registry.Bookmark:
				obj := res.New()
				r := obj.ProtoReflect()
				f := r.Descriptor().Fields().ByName("metadata")
				r.Set(f, r.NewField(f))
				obj.GetMetadata().ResourceVersion = ev.ResourceVersion
				out.Object, _ = proto.Marshal(obj)
			case registry.Error:
				out.Object, _ = proto.Marshal(ev.Status)
			default:
				out.Object = ev.Item.Proto()
			}
			if err := stream.Send(out); err != nil {
				return nil
			}
		}
	}
}

package generic

import (
	"context"

	"kube5/apiserver/internal/registry"
	metav1 "kube5/proto/api/meta/v1"
	rpcv1 "kube5/proto/api/rpc/v1"
	"kube5/proto/apierrors"
	"kube5/proto/scheme"
)

// Bindings serves the create-only bindings resource (POST namespaces/{ns}/bindings, which
// older schedulers use instead of pods/{name}/binding): it binds the pod the Binding
// names through the pods' store.
type Bindings struct {
	Pods *Store
}

var bindingsGR = apierrors.GroupResource{Resource: "bindings"}

// Create binds the pod named by the Binding's metadata.name.
func (b Bindings) Create(ctx context.Context, namespace string, obj scheme.Object, dryRun bool) (scheme.Object, error) {
	meta := metaOf(obj)
	if err := b.Pods.checkNamespace(namespace, meta); err != nil {
		return nil, err
	}
	if err := b.Pods.Bind(ctx, meta.Namespace, meta.Name, obj, dryRun); err != nil {
		return nil, err
	}
	return obj, nil
}

func (Bindings) Get(context.Context, string, string) (scheme.Object, error) {
	return nil, apierrors.NewMethodNotSupported(bindingsGR, "get")
}

func (Bindings) List(context.Context, string, *rpcv1.ListOptions) (*registry.ListResult, error) {
	return nil, apierrors.NewMethodNotSupported(bindingsGR, "list")
}

func (Bindings) Watch(context.Context, string, *rpcv1.ListOptions) (registry.Watch, error) {
	return nil, apierrors.NewMethodNotSupported(bindingsGR, "watch")
}

func (Bindings) Update(context.Context, string, string, string, scheme.Object, bool) (scheme.Object, error) {
	return nil, apierrors.NewMethodNotSupported(bindingsGR, "update")
}

func (Bindings) Delete(context.Context, string, string, *metav1.DeleteOptions) (scheme.Object, bool, error) {
	return nil, false, apierrors.NewMethodNotSupported(bindingsGR, "delete")
}

package resource

import (
	"context"
	"encoding/json"
	"fmt"

	u "kube5/kubectl/internal/unstructured"
	"kube5/proto/apierrors"
	"kube5/proto/client"
	"kube5/proto/scheme"
)

// SetNamespace gives a manifest object the namespace it will be created in: its own,
// else the default one. An explicit -n that disagrees with the manifest is an error, as
// upstream. Cluster-scoped objects lose any namespace.
func SetNamespace(res *scheme.Resource, obj map[string]any, ns string, explicit bool) error {
	if !res.Namespaced {
		u.Remove(obj, "metadata", "namespace")
		return nil
	}
	own := u.Namespace(obj)
	switch {
	case own == "":
		u.Set(obj, ns, "metadata", "namespace")
	case explicit && own != ns:
		return fmt.Errorf("the namespace from the provided object %q does not match the namespace %q. You must pass '--namespace=%s' to perform this operation.", own, ns, own)
	}
	return nil
}

// Create creates obj (a JSON map) and returns the stored object. validate false drops
// unknown fields instead of failing (--validate=false).
func Create(ctx context.Context, cs *client.Clientset, res *scheme.Resource, obj map[string]any, validate bool) (map[string]any, error) {
	p, err := toProto(obj, res, validate)
	if err != nil {
		return nil, err
	}
	out, err := cs.Resource(res, u.Namespace(obj)).Create(ctx, p)
	if err != nil {
		return nil, err
	}
	return u.FromProto(out)
}

// Update replaces obj (with its resourceVersion, so a concurrent change is a Conflict).
func Update(ctx context.Context, cs *client.Clientset, res *scheme.Resource, obj map[string]any, validate bool) (map[string]any, error) {
	p, err := toProto(obj, res, validate)
	if err != nil {
		return nil, err
	}
	out, err := cs.Resource(res, u.Namespace(obj)).Update(ctx, p)
	if err != nil {
		return nil, err
	}
	return u.FromProto(out)
}

// Get fetches one object as a JSON map.
func Get(ctx context.Context, cs *client.Clientset, res *scheme.Resource, ns, name string) (map[string]any, error) {
	obj, err := cs.Resource(res, ns).Get(ctx, name)
	if err != nil {
		return nil, err
	}
	return u.FromProto(obj)
}

func toProto(obj map[string]any, res *scheme.Resource, validate bool) (scheme.Object, error) {
	p, err := u.ToProto(obj, res)
	if err != nil {
		if validate || !onlyUnknown(err) {
			return nil, err
		}
	}
	return p, nil
}

// Modify reads an object, lets fn change it, and writes it back with the resourceVersion
// it read — the gRPC API has no PATCH, so label, annotate, patch, set, rollout and
// cordon are read-modify-write loops that retry on Conflict. fn returns whether it
// changed anything; nothing is written when it did not.
func Modify(ctx context.Context, cs *client.Clientset, res *scheme.Resource, ns, name string, fn func(obj map[string]any) (bool, error)) (map[string]any, bool, error) {
	for attempt := 0; ; attempt++ {
		obj, err := Get(ctx, cs, res, ns, name)
		if err != nil {
			return nil, false, err
		}
		before := u.DeepCopy(obj)
		changed, err := fn(obj)
		if err != nil {
			return nil, false, err
		}
		if !changed || equal(before, obj) {
			return obj, false, nil
		}
		out, err := Update(ctx, cs, res, obj, true)
		if apierrors.IsConflict(err) && attempt < 10 {
			continue
		}
		return out, err == nil, err
	}
}

func equal(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

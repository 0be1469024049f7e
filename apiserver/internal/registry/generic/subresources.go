package generic

import (
	"errors"
	"time"

	"context"
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"kube5/apiserver/internal/storage"
	autoscalingv1 "kube5/proto/api/autoscaling/v1"
	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors"
	"kube5/proto/apierrors/field"
	"kube5/proto/labels"
	"kube5/proto/scheme"
)

// GetScale reads spec.replicas, status.replicas and the selector of a scalable object
// (deployments, replicasets, replicationcontrollers) as an autoscaling/v1 Scale.
func (s *Store) GetScale(ctx context.Context, namespace, name string) (scheme.Object, error) {
	obj, err := s.Get(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	return scaleOf(obj), nil
}

// UpdateScale sets spec.replicas of the object; a resourceVersion in the Scale is a
// precondition on the object, as upstream.
func (s *Store) UpdateScale(ctx context.Context, namespace, name string, in scheme.Object, dryRun bool) (scheme.Object, error) {
	sc, ok := in.(*autoscalingv1.Scale)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("expected a Scale, got %T", in))
	}
	if sc.GetSpec().GetReplicas() < 0 {
		return nil, apierrors.NewInvalid(apierrors.GroupKind{Group: "autoscaling", Kind: "Scale"}, name,
			field.ErrorList{field.Invalid(field.NewPath("spec", "replicas"), sc.GetSpec().GetReplicas(), "must be greater than or equal to 0")})
	}
	var pre *storage.Preconditions
	if rv := sc.GetMetadata().GetResourceVersion(); rv != "" {
		pre = &storage.Preconditions{ResourceVersion: rv}
	}
	out := s.Resource.New()
	err := s.Storage.GuaranteedUpdate(ctx, s.Key(namespace, name), out, pre, func(cur scheme.Object) (scheme.Object, error) {
		next := proto.Clone(cur).(scheme.Object)
		spec := next.ProtoReflect().Mutable(s.shape.spec).Message()
		spec.Set(spec.Descriptor().Fields().ByName("replicas"), protoreflect.ValueOfInt32(sc.GetSpec().GetReplicas()))
		if !sameField(next, cur, s.shape.spec) {
			next.GetMetadata().Generation++
		}
		if dryRun {
			return nil, errDryRun{next}
		}
		return next, nil
	}, nil)
	var dry errDryRun
	if errors.As(err, &dry) {
		return scaleOf(dry.obj), nil
	}
	if err != nil {
		return nil, s.storageError(err, name)
	}
	return scaleOf(out), nil
}

// scaleOf builds the Scale of a scalable object by reflection over spec.replicas,
// status.replicas and spec.selector (a LabelSelector, or a map for replication
// controllers).
func scaleOf(obj scheme.Object) *autoscalingv1.Scale {
	m := obj.GetMetadata()
	sc := &autoscalingv1.Scale{
		Metadata: &metav1.ObjectMeta{Name: m.GetName(), Namespace: m.GetNamespace(), Uid: m.GetUid(),
			ResourceVersion: m.GetResourceVersion(), CreationTimestamp: m.GetCreationTimestamp()},
		Spec:   &autoscalingv1.ScaleSpec{},
		Status: &autoscalingv1.ScaleStatus{},
	}
	r := obj.ProtoReflect()
	fds := r.Descriptor().Fields()
	if spec := r.Get(fds.ByName("spec")).Message(); spec.IsValid() {
		sf := spec.Descriptor().Fields()
		if f := sf.ByName("replicas"); spec.Has(f) {
			sc.Spec.Replicas = int32(spec.Get(f).Int())
		} else {
			sc.Spec.Replicas = 1
		}
		if f := sf.ByName("selector"); f != nil && spec.Has(f) {
			switch sel := spec.Get(f).Interface().(type) {
			case protoreflect.Message:
				if ls, ok := sel.Interface().(*metav1.LabelSelector); ok {
					if s, err := labels.SelectorFromLabelSelector(ls); err == nil {
						sc.Status.Selector = s.String()
					}
				}
			case protoreflect.Map:
				set := labels.Set{}
				sel.Range(func(k protoreflect.MapKey, v protoreflect.Value) bool {
					set[k.String()] = v.String()
					return true
				})
				sc.Status.Selector = set.AsSelector().String()
			}
		}
	}
	if st := r.Get(fds.ByName("status")).Message(); st.IsValid() {
		if f := st.Descriptor().Fields().ByName("replicas"); f != nil {
			sc.Status.Replicas = int32(st.Get(f).Int())
		}
	}
	return sc
}

// Bind sets spec.nodeName of a pod once and marks it scheduled (pods/binding).
func (s *Store) Bind(ctx context.Context, namespace, name string, in scheme.Object, dryRun bool) error {
	b, ok := in.(*corev1.Binding)
	if !ok {
		return apierrors.NewBadRequest(fmt.Sprintf("expected a Binding, got %T", in))
	}
	node := b.GetTarget().GetName()
	if node == "" {
		return apierrors.NewInvalid(apierrors.GroupKind{Kind: "Binding"}, name,
			field.ErrorList{field.Required(field.NewPath("target", "name"), "")})
	}
	if b.GetTarget().GetKind() != "" && b.GetTarget().GetKind() != "Node" {
		return apierrors.NewInvalid(apierrors.GroupKind{Kind: "Binding"}, name,
			field.ErrorList{field.NotSupported(field.NewPath("target", "kind"), b.GetTarget().GetKind(), []string{"Node"})})
	}
	var pre *storage.Preconditions
	if uid := b.GetMetadata().GetUid(); uid != "" {
		pre = &storage.Preconditions{UID: uid}
	}
	out := s.Resource.New()
	err := s.Storage.GuaranteedUpdate(ctx, s.Key(namespace, name), out, pre, func(cur scheme.Object) (scheme.Object, error) {
		pod := proto.Clone(cur).(*corev1.Pod)
		if pod.GetMetadata().GetDeletionTimestamp() != nil {
			return nil, apierrors.NewConflict(apierrors.GroupResource{Resource: "pods/binding"}, name,
				fmt.Errorf("pod %s is being deleted, cannot be assigned to a host", name))
		}
		if n := pod.GetSpec().GetNodeName(); n != "" {
			return nil, apierrors.NewConflict(apierrors.GroupResource{Resource: "pods/binding"}, name,
				fmt.Errorf("pod %s is already assigned to node %q", name, n))
		}
		if pod.Spec == nil {
			pod.Spec = &corev1.PodSpec{}
		}
		pod.Spec.NodeName = node
		if pod.Status == nil {
			pod.Status = &corev1.PodStatus{}
		}
		setPodScheduled(pod.Status, s.now())
		if dryRun {
			return nil, errDryRun{pod}
		}
		return pod, nil
	}, nil)
	if errors.As(err, new(errDryRun)) {
		return nil
	}
	if err != nil {
		return s.storageError(err, name)
	}
	return nil
}

func setPodScheduled(st *corev1.PodStatus, now time.Time) {
	for _, c := range st.Conditions {
		if c.GetType() == "PodScheduled" {
			if c.Status != "True" {
				c.Status, c.Reason, c.Message = "True", "", ""
				c.LastTransitionTime = metav1.NewTime(now)
			}
			return
		}
	}
	st.Conditions = append(st.Conditions, &corev1.PodCondition{Type: "PodScheduled", Status: "True", LastTransitionTime: metav1.NewTime(now)})
}

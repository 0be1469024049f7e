// Package generic is the store every resource shares: create, get, update, delete, list
// and watch on etcd and the watch cache, with what upstream's generic registry does around
// them (uid, timestamps, generateName, generation, the status split, graceful deletion,
// finalizers, namespace lifecycle). What differs per resource comes from its Strategy.
package generic

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	"kube5/apiserver/internal/registry"
	"kube5/apiserver/internal/storage"
	"kube5/apiserver/internal/watchcache"
	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors"
	"kube5/proto/apierrors/field"
	"kube5/proto/scheme"
)

// NamespaceLookup returns the namespace named, from a cache with a live fallback.
type NamespaceLookup func(ctx context.Context, name string) (*corev1.Namespace, error)

// Store serves one resource.
type Store struct {
	Resource *scheme.Resource
	Strategy registry.Strategy
	Storage  *storage.Store
	Cache    *watchcache.Cache
	// Namespace is consulted on create in namespaced resources; nil skips the check
	// (the namespaces resource itself).
	Namespace NamespaceLookup

	shape shape
	gr    apierrors.GroupResource
	gk    apierrors.GroupKind
	now   func() time.Time

	// lastWrite is the resourceVersion of this apiserver's latest write through the
	// store: Cached waits for the watch cache to reach it, so a read that follows a
	// write here sees it (a create right after its namespace's delete is refused).
	lastWrite atomic.Int64
}

// noteWrite records the resourceVersion of a successful write.
func (s *Store) noteWrite(obj scheme.Object) {
	rv, err := storage.ParseResourceVersion(obj.GetMetadata().GetResourceVersion())
	if err != nil {
		return
	}
	for {
		cur := s.lastWrite.Load()
		if rv <= cur || s.lastWrite.CompareAndSwap(cur, rv) {
			return
		}
	}
}

// NewStore builds the store of r.
func NewStore(r *scheme.Resource, s registry.Strategy, st *storage.Store, cache *watchcache.Cache, ns NamespaceLookup) *Store {
	return &Store{
		Resource: r, Strategy: s, Storage: st, Cache: cache, Namespace: ns,
		shape: shapeOf(r.New()),
		gr:    apierrors.GroupResource{Group: r.Group, Resource: r.Resource},
		gk:    apierrors.GroupKind{Group: r.Group, Kind: r.Kind},
		now:   time.Now,
	}
}

// Key is the etcd key of an object (design.md §3).
func (s *Store) Key(namespace, name string) string {
	if !s.Resource.Namespaced {
		namespace = ""
	}
	return storage.Key(s.Resource.Resource, namespace, name)
}

// Prefix is the key prefix of a namespace ("" = all).
func (s *Store) Prefix(namespace string) string {
	if !s.Resource.Namespaced || namespace == "" {
		return "/registry/" + s.Resource.Resource + "/"
	}
	return "/registry/" + s.Resource.Resource + "/" + namespace + "/"
}

// GroupResource names the resource in errors.
func (s *Store) GroupResource() apierrors.GroupResource { return s.gr }

// Get reads one object from etcd (a consistent read).
func (s *Store) Get(ctx context.Context, namespace, name string) (scheme.Object, error) {
	obj := s.Resource.New()
	if err := s.Storage.Get(ctx, s.Key(namespace, name), obj); err != nil {
		return nil, s.storageError(err, name)
	}
	return obj, nil
}

// Create stores a new object. namespace is the request's (path) namespace.
func (s *Store) Create(ctx context.Context, namespace string, obj scheme.Object, dryRun bool) (scheme.Object, error) {
	meta := metaOf(obj)
	if err := s.checkNamespace(namespace, meta); err != nil {
		return nil, err
	}
	if len(meta.Name) == 0 && len(meta.GenerateName) == 0 {
		return nil, apierrors.NewInvalid(s.gk, "", field.ErrorList{field.Required(field.NewPath("metadata", "name"), "name or generateName is required")})
	}
	generated := meta.Name == ""
	if generated {
		meta.Name = generateName(meta.GenerateName)
	}
	meta.ResourceVersion = ""
	meta.Uid = uuid.NewString()
	meta.CreationTimestamp = metav1.NewTime(s.now())
	meta.DeletionTimestamp = nil
	meta.DeletionGracePeriodSeconds = nil
	meta.SelfLink = ""
	if s.shape.spec != nil {
		meta.Generation = 1
	} else {
		meta.Generation = 0
	}
	s.Strategy.PrepareForCreate(obj)
	s.Strategy.Default(obj)
	if errs := s.Strategy.Validate(obj); len(errs) > 0 {
		return nil, apierrors.NewInvalid(s.gk, meta.Name, errs)
	}
	if s.Resource.Namespaced && s.Namespace != nil {
		if err := s.namespaceOpen(ctx, meta.Namespace); err != nil {
			return nil, err
		}
	}
	if dryRun {
		return obj, nil
	}
	undo := func() {}
	if h, ok := s.Strategy.(registry.CreateHook); ok {
		u, err := h.BeforeCreate(ctx, obj)
		if err != nil {
			return nil, s.hookError(err, meta.Name)
		}
		if u != nil {
			undo = u
		}
	}
	for attempt := 0; ; attempt++ {
		err := s.Storage.Create(ctx, s.Key(meta.Namespace, meta.Name), obj)
		if err == nil {
			s.noteWrite(obj)
			return obj, nil
		}
		// A generated name that collides gets another suffix, as upstream's client-side
		// retry would; a few collisions in a row mean the prefix space is exhausted.
		if generated && storage.IsAlreadyExists(err) && attempt < 8 {
			meta.Name = generateName(meta.GenerateName)
			continue
		}
		undo()
		return nil, s.storageError(err, meta.Name)
	}
}

// checkNamespace reconciles the body's namespace with the request's.
func (s *Store) checkNamespace(namespace string, meta *metav1.ObjectMeta) error {
	if !s.Resource.Namespaced {
		meta.Namespace = ""
		return nil
	}
	if meta.Namespace == "" {
		meta.Namespace = namespace
	}
	if namespace != "" && meta.Namespace != namespace {
		return apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
	}
	if meta.Namespace == "" {
		return apierrors.NewBadRequest("a namespace is required for " + s.Resource.Resource)
	}
	return nil
}

// namespaceOpen refuses content in a namespace that does not exist or is terminating
// (upstream's NamespaceLifecycle admission).
func (s *Store) namespaceOpen(ctx context.Context, name string) error {
	ns, err := s.Namespace(ctx, name)
	if err != nil {
		return err
	}
	if ns.GetMetadata().GetDeletionTimestamp() != nil || ns.GetStatus().GetPhase() == "Terminating" {
		return apierrors.NewForbidden(s.gr, "", fmt.Errorf("unable to create new content in namespace %s because it is being terminated", name))
	}
	return nil
}

// Update replaces an object (subresource "") or its status (subresource "status").
func (s *Store) Update(ctx context.Context, namespace, name, subresource string, obj scheme.Object, dryRun bool) (scheme.Object, error) {
	meta := metaOf(obj)
	if meta.Name == "" {
		meta.Name = name
	}
	if meta.Name != name {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", meta.Name, name))
	}
	if err := s.checkNamespace(namespace, meta); err != nil {
		return nil, err
	}
	if subresource != "" && subresource != "status" {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("%s has no subresource %q to update", s.gr, subresource))
	}
	if subresource == "status" && s.shape.status == nil {
		return nil, apierrors.NewNotFound(s.gr, name+"/status")
	}
	var pre *storage.Preconditions
	if meta.ResourceVersion != "" {
		pre = &storage.Preconditions{ResourceVersion: meta.ResourceVersion}
	}
	var commit, undo func()
	out := s.Resource.New()
	err := s.Storage.GuaranteedUpdate(ctx, s.Key(namespace, name), out, pre, func(cur scheme.Object) (scheme.Object, error) {
		if undo != nil { // an earlier try lost a race: give back what it took
			undo()
			commit, undo = nil, nil
		}
		next := proto.Clone(obj).(scheme.Object)
		if err := s.prepareUpdate(ctx, next, cur, subresource); err != nil {
			return nil, err
		}
		if dryRun {
			return nil, errDryRun{next}
		}
		if h, ok := s.Strategy.(registry.UpdateHook); ok && subresource == "" {
			c, u, err := h.BeforeUpdate(ctx, next, cur)
			if err != nil {
				return nil, s.hookError(err, name)
			}
			commit, undo = c, u
		}
		return next, nil
	}, nil)
	var dry errDryRun
	if errors.As(err, &dry) {
		return dry.obj, nil
	}
	if err != nil {
		if undo != nil {
			undo()
		}
		return nil, s.storageError(err, name)
	}
	if commit != nil {
		commit()
	}
	s.noteWrite(out)
	// The last finalizer removed from an object being deleted: the object goes now.
	m := out.GetMetadata()
	if m.GetDeletionTimestamp() != nil && len(m.GetFinalizers()) == 0 && m.GetDeletionGracePeriodSeconds() == 0 && !s.held(out) {
		if _, err := s.deleteNow(ctx, namespace, name, &storage.Preconditions{ResourceVersion: m.GetResourceVersion()}); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return nil, err
		}
	}
	return out, nil
}

// held reports whether the strategy still holds a deleted object (see DeleteHolder).
func (s *Store) held(obj scheme.Object) bool {
	h, ok := s.Strategy.(registry.DeleteHolder)
	return ok && h.HoldOnDelete(proto.Clone(obj).(scheme.Object))
}

// errDryRun carries the would-be result of a dry-run update out of GuaranteedUpdate
// without writing.
type errDryRun struct{ obj scheme.Object }

func (errDryRun) Error() string { return "dry run" }

// prepareUpdate turns a client's object into the next stored state of cur.
func (s *Store) prepareUpdate(ctx context.Context, next, cur scheme.Object, subresource string) error {
	nm, cm := metaOf(next), cur.GetMetadata()
	// Fields the server owns survive whatever the client sent.
	nm.Uid = cm.GetUid()
	nm.CreationTimestamp = cm.GetCreationTimestamp()
	nm.DeletionTimestamp = cm.GetDeletionTimestamp()
	nm.DeletionGracePeriodSeconds = cm.DeletionGracePeriodSeconds
	nm.Generation = cm.GetGeneration()
	nm.GenerateName = cm.GetGenerateName()
	nm.SelfLink = ""
	if subresource == "status" {
		// The status subresource changes status only (upstream keeps spec and metadata).
		copyField(next, cur, s.shape.spec)
		rv := nm.ResourceVersion
		proto.Reset(nm)
		proto.Merge(nm, cm)
		nm.ResourceVersion = rv
		if st, ok := s.Strategy.(registry.StatusStrategy); ok {
			st.PrepareForStatusUpdate(next, cur)
			if errs := st.ValidateStatusUpdate(next, cur); len(errs) > 0 {
				return apierrors.NewInvalid(s.gk, nm.Name, errs)
			}
		}
		return nil
	}
	// The main resource ignores status changes: they go through the status subresource.
	copyField(next, cur, s.shape.status)
	// Finalizers may be removed from an object being deleted, but not added.
	if cm.GetDeletionTimestamp() != nil && len(nm.Finalizers) > 0 && !subset(nm.Finalizers, cm.GetFinalizers()) {
		return apierrors.NewInvalid(s.gk, nm.Name, field.ErrorList{field.Forbidden(field.NewPath("metadata", "finalizers"), "no new finalizers can be added if the object is being deleted")})
	}
	s.Strategy.Default(next)
	s.Strategy.PrepareForUpdate(next, cur)
	if s.shape.spec != nil && !sameField(next, cur, s.shape.spec) {
		nm.Generation = cm.GetGeneration() + 1
	}
	if errs := s.Strategy.ValidateUpdate(next, cur); len(errs) > 0 {
		return apierrors.NewInvalid(s.gk, nm.Name, errs)
	}
	return nil
}

func subset(a, b []string) bool {
	have := make(map[string]bool, len(b))
	for _, x := range b {
		have[x] = true
	}
	for _, x := range a {
		if !have[x] {
			return false
		}
	}
	return true
}

// Delete deletes an object: at once, or gracefully (deletionTimestamp set, object kept)
// when the strategy gives a grace period or finalizers hold it. It returns the object as
// it is after the call, and whether it is gone from storage.
func (s *Store) Delete(ctx context.Context, namespace, name string, opts *metav1.DeleteOptions) (scheme.Object, bool, error) {
	if opts == nil { // a gRPC DeleteRequest without options
		opts = &metav1.DeleteOptions{}
	}
	if v, ok := s.Strategy.(registry.DeleteValidator); ok {
		if err := v.ValidateDelete(namespace, name); err != nil {
			return nil, false, apierrors.NewForbidden(s.gr, name, err)
		}
	}
	pre := &storage.Preconditions{}
	if p := opts.GetPreconditions(); p != nil {
		pre.UID = p.GetUid()
		pre.ResourceVersion = p.GetResourceVersion()
	}
	var gone bool
	var result scheme.Object
	out := s.Resource.New()
	err := s.Storage.GuaranteedUpdate(ctx, s.Key(namespace, name), out, pre, func(cur scheme.Object) (scheme.Object, error) {
		next := proto.Clone(cur).(scheme.Object)
		m := next.GetMetadata()
		grace := int64(0)
		if g, ok := s.Strategy.(registry.GracefulDeleter); ok {
			grace = g.GracePeriod(cur, opts.GracePeriodSeconds)
		}
		switch opts.GetPropagationPolicy() {
		case "Foreground":
			m.Finalizers = addString(m.Finalizers, "foregroundDeletion")
		case "Orphan":
			m.Finalizers = addString(m.Finalizers, "orphan")
		}
		held := false
		if h, ok := s.Strategy.(registry.DeleteHolder); ok {
			held = h.HoldOnDelete(next)
		}
		if grace == 0 && len(m.Finalizers) == 0 && !held {
			return nil, errDeleteNow{}
		}
		now := s.now()
		if m.DeletionTimestamp != nil {
			// Already being deleted: a shorter grace period moves the deadline closer,
			// a longer one is ignored (upstream).
			if m.DeletionGracePeriodSeconds == nil || grace >= *m.DeletionGracePeriodSeconds {
				if proto.Equal(next, cur) {
					return nil, errNoChange{}
				}
				return next, nil
			}
		}
		m.DeletionTimestamp = metav1.NewTime(now.Add(time.Duration(grace) * time.Second))
		m.DeletionGracePeriodSeconds = &grace
		if grace == 0 && len(m.Finalizers) == 0 && !held {
			return nil, errDeleteNow{}
		}
		return next, nil
	}, nil)
	switch {
	case errors.As(err, new(errDeleteNow)):
		result, err = s.deleteNow(ctx, namespace, name, pre)
		gone = err == nil
	case errors.As(err, new(errNoChange)):
		result, err = s.Get(ctx, namespace, name)
	case err == nil:
		result = out
	default:
		err = s.storageError(err, name)
	}
	if err != nil {
		return nil, false, err
	}
	s.noteWrite(result)
	return result, gone, nil
}

type errDeleteNow struct{}

func (errDeleteNow) Error() string { return "delete now" }

type errNoChange struct{}

func (errNoChange) Error() string { return "no change" }

func addString(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// deleteNow removes the object from storage and runs the delete hook.
func (s *Store) deleteNow(ctx context.Context, namespace, name string, pre *storage.Preconditions) (scheme.Object, error) {
	out := s.Resource.New()
	if err := s.Storage.Delete(ctx, s.Key(namespace, name), out, pre, nil); err != nil {
		return nil, s.storageError(err, name)
	}
	if h, ok := s.Strategy.(registry.DeleteHook); ok {
		h.AfterDelete(ctx, out)
	}
	return out, nil
}

// storageError turns a storage error into the API's.
func (s *Store) storageError(err error, name string) error {
	var se *apierrors.StatusError
	if errors.As(err, &se) {
		return se
	}
	var serr *storage.Error
	msg := err.Error()
	if errors.As(err, &serr) && serr.Message != "" {
		msg = serr.Message
	}
	switch {
	case storage.IsNotFound(err):
		return apierrors.NewNotFound(s.gr, name)
	case storage.IsAlreadyExists(err):
		return apierrors.NewAlreadyExists(s.gr, name)
	case storage.IsConflict(err):
		// Precondition failures carry upstream's own wording; a stale resourceVersion
		// carries "the object has been modified; ...".
		return apierrors.NewConflict(s.gr, name, errors.New(msg))
	case storage.IsGone(err):
		return apierrors.NewResourceExpired(msg)
	case storage.IsTooManyRequests(err):
		// A watcher that fell behind: the client re-watches from its last
		// resourceVersion after a pause instead of relisting.
		return apierrors.NewTooManyRequests(msg, 1)
	case storage.IsBadRequest(err):
		return apierrors.NewBadRequest(msg)
	case storage.IsTimeout(err):
		return apierrors.NewTimeoutError(msg, 1)
	case storage.IsUnreachable(err):
		return apierrors.NewServiceUnavailable("etcd is unreachable: " + msg)
	}
	return apierrors.NewInternalError(err)
}

func (s *Store) hookError(err error, name string) error {
	var se *apierrors.StatusError
	if errors.As(err, &se) {
		return se
	}
	return apierrors.NewInternalError(err)
}

func metaOf(obj scheme.Object) *metav1.ObjectMeta {
	r := obj.ProtoReflect()
	f := r.Descriptor().Fields().ByName("metadata")
	if !r.Has(f) {
		r.Set(f, r.NewField(f))
	}
	return obj.GetMetadata()
}

// generateName appends 5 random characters to prefix, from upstream's alphabet (no
// vowels, so no words; no look-alike characters).
func generateName(prefix string) string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	const n = 5
	if len(prefix) > 63-n {
		prefix = prefix[:63-n]
	}
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return prefix + string(b)
}

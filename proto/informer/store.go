package informer

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"kube5/proto/labels"
	"kube5/proto/scheme"
)

// NamespaceIndex is the index every Store keeps: objects by metadata.namespace.
const NamespaceIndex = "namespace"

// IndexFunc computes the index values of an object (upstream's cache.IndexFunc).
type IndexFunc[T scheme.Object] func(obj T) []string

// Key is upstream's MetaNamespaceKeyFunc: "namespace/name", or "name" for cluster-scoped
// objects. Work queues carry these keys.
func Key(obj scheme.Object) string {
	md := obj.GetMetadata()
	if md.GetNamespace() == "" {
		return md.GetName()
	}
	return md.GetNamespace() + "/" + md.GetName()
}

// SplitKey splits a Key back into namespace and name.
func SplitKey(key string) (namespace, name string, err error) {
	parts := strings.Split(key, "/")
	switch len(parts) {
	case 1:
		return "", parts[0], nil
	case 2:
		return parts[0], parts[1], nil
	}
	return "", "", fmt.Errorf("unexpected key format: %q", key)
}

// Lister reads an informer's cache. The objects returned are the cache's own: callers must
// not modify them (clone with proto.Clone first), as with upstream listers.
type Lister[T scheme.Object] interface {
	// Get returns the object namespace/name ("" namespace for cluster-scoped objects).
	Get(namespace, name string) (T, bool)
	// List returns every object whose labels match sel (nil: all), sorted by key.
	List(sel labels.Selector) []T
	// ByNamespace returns the objects of one namespace matching sel ("" = all namespaces).
	ByNamespace(namespace string, sel labels.Selector) []T
	// ByIndex returns the objects an indexer maps to value, sorted by key.
	ByIndex(index, value string) []T
}

// Store is a thread-safe indexed cache of objects by Key, the local store of an Informer.
// Controllers' unit tests fill one directly to get a Lister without a server.
type Store[T scheme.Object] struct {
	mu       sync.RWMutex
	items    map[string]T
	indexers map[string]IndexFunc[T]
	// indices: index name -> index value -> set of keys.
	indices map[string]map[string]map[string]struct{}
}

var _ Lister[scheme.Object] = (*Store[scheme.Object])(nil)

// NewStore returns an empty store with the namespace index.
func NewStore[T scheme.Object]() *Store[T] {
	s := &Store[T]{
		items:    map[string]T{},
		indexers: map[string]IndexFunc[T]{},
		indices:  map[string]map[string]map[string]struct{}{},
	}
	s.indexers[NamespaceIndex] = func(obj T) []string { return []string{obj.GetMetadata().GetNamespace()} }
	s.indices[NamespaceIndex] = map[string]map[string]struct{}{}
	return s
}

// AddIndexers adds indexers, indexing the objects already present; a name already in use
// is an error.
func (s *Store[T]) AddIndexers(indexers map[string]IndexFunc[T]) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name := range indexers {
		if _, ok := s.indexers[name]; ok {
			return fmt.Errorf("indexer %q already exists", name)
		}
	}
	for name, fn := range indexers {
		s.indexers[name] = fn
		s.indices[name] = map[string]map[string]struct{}{}
		for key, obj := range s.items {
			s.index(name, fn, key, obj)
		}
	}
	return nil
}

func (s *Store[T]) index(name string, fn IndexFunc[T], key string, obj T) {
	idx := s.indices[name]
	for _, v := range fn(obj) {
		set := idx[v]
		if set == nil {
			set = map[string]struct{}{}
			idx[v] = set
		}
		set[key] = struct{}{}
	}
}

func (s *Store[T]) unindex(key string, obj T) {
	for name, fn := range s.indexers {
		idx := s.indices[name]
		for _, v := range fn(obj) {
			if set := idx[v]; set != nil {
				delete(set, key)
				if len(set) == 0 {
					delete(idx, v)
				}
			}
		}
	}
}

// put stores obj and returns the previous object under its key. Caller holds s.mu.
func (s *Store[T]) put(obj T) (old T, existed bool) {
	key := Key(obj)
	old, existed = s.items[key]
	if existed {
		s.unindex(key, old)
	}
	s.items[key] = obj
	for name, fn := range s.indexers {
		s.index(name, fn, key, obj)
	}
	return old, existed
}

// remove deletes key and returns what was stored. Caller holds s.mu.
func (s *Store[T]) remove(key string) (old T, existed bool) {
	old, existed = s.items[key]
	if existed {
		s.unindex(key, old)
		delete(s.items, key)
	}
	return old, existed
}

// replace and removeKey are the informer's writes; they report what was there before so
// the informer can tell adds from updates.
func (s *Store[T]) replace(obj T) (T, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.put(obj)
}

func (s *Store[T]) removeKey(key string) (T, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.remove(key)
}

// Add stores or replaces obj.
func (s *Store[T]) Add(obj T) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.put(obj)
}

// Delete removes obj's key.
func (s *Store[T]) Delete(obj T) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.remove(Key(obj))
}

// Len is the number of objects.
func (s *Store[T]) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.items)
}

// Keys returns every key, sorted.
func (s *Store[T]) Keys() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	keys := make([]string, 0, len(s.items))
	for k := range s.items {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// GetByKey returns the object stored under a Key.
func (s *Store[T]) GetByKey(key string) (T, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	obj, ok := s.items[key]
	return obj, ok
}

// Get implements Lister.
func (s *Store[T]) Get(namespace, name string) (T, bool) {
	key := name
	if namespace != "" {
		key = namespace + "/" + name
	}
	return s.GetByKey(key)
}

// List implements Lister.
func (s *Store[T]) List(sel labels.Selector) []T {
	s.mu.RLock()
	defer s.mu.RUnlock()
	keys := make([]string, 0, len(s.items))
	for k := range s.items {
		keys = append(keys, k)
	}
	return s.collect(keys, sel)
}

// ByNamespace implements Lister.
func (s *Store[T]) ByNamespace(namespace string, sel labels.Selector) []T {
	if namespace == "" {
		return s.List(sel)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.collect(setKeys(s.indices[NamespaceIndex][namespace]), sel)
}

// ByIndex implements Lister; an unknown index returns nothing.
func (s *Store[T]) ByIndex(index, value string) []T {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.collect(setKeys(s.indices[index][value]), nil)
}

// IndexKeys returns the keys an indexer maps to value, sorted.
func (s *Store[T]) IndexKeys(index, value string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	keys := setKeys(s.indices[index][value])
	sort.Strings(keys)
	return keys
}

func setKeys(set map[string]struct{}) []string {
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	return keys
}

// collect returns the objects of keys matching sel, sorted by key. Caller holds s.mu.
func (s *Store[T]) collect(keys []string, sel labels.Selector) []T {
	sort.Strings(keys)
	out := make([]T, 0, len(keys))
	for _, k := range keys {
		obj := s.items[k]
		if sel != nil && !sel.Empty() && !sel.Matches(labels.Set(obj.GetMetadata().GetLabels())) {
			continue
		}
		out = append(out, obj)
	}
	return out
}

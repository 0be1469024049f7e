// Package labels implements upstream's label selectors (k8s.io/apimachinery/pkg/labels):
// the string syntax of kubectl -l and ?labelSelector=, metav1.LabelSelector conversion, and
// the validation of label keys and values, with upstream's messages.
package labels

import (
	"sort"
	"strings"
)

// Set is a map of label keys to values, e.g. an object's metadata.labels. A plain
// map[string]string is assignable to it.
type Set map[string]string

// String returns the set as "k1=v1,k2=v2", sorted by key, which is also a selector
// matching the set.
func (ls Set) String() string {
	keys := make([]string, 0, len(ls))
	for k := range ls {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(ls[k])
	}
	return b.String()
}

// Has reports whether the key is present.
func (ls Set) Has(key string) bool {
	_, ok := ls[key]
	return ok
}

// Get returns the key's value, "" when absent.
func (ls Set) Get(key string) string { return ls[key] }

// AsSelector returns a selector requiring every key=value of the set; the empty set
// selects everything. Keys and values are not validated (see ValidatedSelectorFromSet).
func (ls Set) AsSelector() Selector { return SelectorFromSet(ls) }

// SelectorFromSet is Set.AsSelector.
func SelectorFromSet(ls Set) Selector {
	if len(ls) == 0 {
		return internalSelector{}
	}
	s := make(internalSelector, 0, len(ls))
	for k, v := range ls {
		s = append(s, Requirement{key: k, operator: Equals, values: []string{v}})
	}
	sortByKey(s)
	return s
}

// ValidatedSelectorFromSet is SelectorFromSet, failing on an invalid key or value.
func ValidatedSelectorFromSet(ls Set) (Selector, error) {
	if len(ls) == 0 {
		return internalSelector{}, nil
	}
	s := make(internalSelector, 0, len(ls))
	for k, v := range ls {
		r, err := NewRequirement(k, Equals, []string{v})
		if err != nil {
			return nil, err
		}
		s = append(s, *r)
	}
	sortByKey(s)
	return s, nil
}

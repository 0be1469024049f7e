// Package field names the fields of an API object in validation errors, after upstream's
// k8s.io/apimachinery/pkg/util/validation/field: a Path renders as
// "spec.containers[0].ports[1].containerPort" or "metadata.labels[app]", and an Error
// prints exactly as upstream's so kubectl output and tests written for Kubernetes match.
package field

import (
	"bytes"
	"fmt"
	"strconv"
)

// Path is one step of a field path, linked to its parent. Paths are immutable: Child, Index
// and Key return new paths and never change the receiver, so a validator can hand the
// same parent to many children.
type Path struct {
	name   string // the name of this field, or "" if this is an index
	index  string // if name == "", this is a subscript (index or map key) of the previous element
	parent *Path  // nil if this is the root element
}

// NewPath creates a root Path object.
func NewPath(name string, moreNames ...string) *Path {
	r := &Path{name: name}
	for _, anotherName := range moreNames {
		r = &Path{name: anotherName, parent: r}
	}
	return r
}

// Root returns the root element of this Path.
func (p *Path) Root() *Path {
	for ; p.parent != nil; p = p.parent {
	}
	return p
}

// Child creates a new Path that is a child of the method receiver.
func (p *Path) Child(name string, moreNames ...string) *Path {
	r := NewPath(name, moreNames...)
	r.Root().parent = p
	return r
}

// Index indicates that the previous Path is to be subscripted by an int.
func (p *Path) Index(index int) *Path {
	return &Path{index: strconv.Itoa(index), parent: p}
}

// Key indicates that the previous Path is to be subscripted by a string.
func (p *Path) Key(key string) *Path {
	return &Path{index: key, parent: p}
}

// String produces a string representation of the Path.
func (p *Path) String() string {
	if p == nil {
		return "<nil>"
	}
	// Walk from the leaf to the root once, then print root first.
	elems := []*Path{}
	for ; p != nil; p = p.parent {
		elems = append(elems, p)
	}
	buf := bytes.NewBuffer(nil)
	for i := range elems {
		p := elems[len(elems)-1-i]
		if p.parent != nil && len(p.name) > 0 {
			// This is either the root or it is a subscript.
			buf.WriteString(".")
		}
		if len(p.name) > 0 {
			buf.WriteString(p.name)
		} else {
			fmt.Fprintf(buf, "[%s]", p.index)
		}
	}
	return buf.String()
}

package labels

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	metav1 "kube5/proto/api/meta/v1"
)

// Operator is a requirement's relation between a key and its values.
type Operator string

// The operators of the selector syntax, spelled as upstream's selection.Operator.
const (
	DoesNotExist Operator = "!"
	Equals       Operator = "="
	DoubleEquals Operator = "=="
	In           Operator = "in"
	NotEquals    Operator = "!="
	NotIn        Operator = "notin"
	Exists       Operator = "exists"
	GreaterThan  Operator = "gt"
	LessThan     Operator = "lt"
)

// Selector selects label sets. Selectors are immutable and safe for concurrent use.
type Selector interface {
	// Matches reports whether the set satisfies every requirement.
	Matches(Set) bool
	// Empty reports whether the selector selects everything.
	Empty() bool
	// String returns the selector in the syntax Parse accepts (requirements sorted by key).
	String() string
	// Add returns a new selector with the requirements added.
	Add(r ...Requirement) Selector
	// Requirements returns the requirements; selectable is false for Nothing().
	Requirements() (requirements []Requirement, selectable bool)
	// RequiresExactMatch returns the value a matching set must hold for the key, if the
	// selector pins one (key=v, key==v, key in (v)).
	RequiresExactMatch(key string) (value string, found bool)
}

// Everything returns a selector matching every set.
func Everything() Selector { return internalSelector{} }

// Nothing returns a selector matching no set.
func Nothing() Selector { return nothingSelector{} }

// NewSelector returns an empty selector (matching everything) to Add requirements to.
func NewSelector() Selector { return internalSelector{} }

// Requirement is one term of a selector: key, operator and sorted, de-duplicated values.
type Requirement struct {
	key      string
	operator Operator
	values   []string
}

// NewRequirement validates and builds a requirement, as upstream: In and NotIn need at
// least one value; =, == and != exactly one; Exists and DoesNotExist none; gt and lt one
// integer. The error names every bad part.
func NewRequirement(key string, op Operator, vals []string) (*Requirement, error) {
	var errs []string
	if msgs := ValidateKey(key); len(msgs) != 0 {
		errs = append(errs, invalid("key", key, strings.Join(msgs, "; ")))
	}
	switch op {
	case In, NotIn:
		if len(vals) == 0 {
			errs = append(errs, invalid("values", vals, "for 'in', 'notin' operators, values set can't be empty"))
		}
	case Equals, DoubleEquals, NotEquals:
		if len(vals) != 1 {
			errs = append(errs, invalid("values", vals, "exact-match compatibility requires one single value"))
		}
	case Exists, DoesNotExist:
		if len(vals) != 0 {
			errs = append(errs, invalid("values", vals, "values set must be empty for exists and does not exist"))
		}
	case GreaterThan, LessThan:
		if len(vals) != 1 {
			errs = append(errs, invalid("values", vals, "for 'Gt', 'Lt' operators, exactly one value is required"))
		}
		for i, v := range vals {
			if _, err := strconv.ParseInt(v, 10, 64); err != nil {
				errs = append(errs, invalid(fmt.Sprintf("values[%d]", i), v, "for 'Gt', 'Lt' operators, the value must be an integer"))
			}
		}
	default:
		errs = append(errs, fmt.Sprintf("operator: Unsupported value: %q: supported values: \"!\", \"=\", \"==\", \"in\", \"!=\", \"notin\", \"exists\", \"gt\", \"lt\"", string(op)))
	}
	for i, v := range vals {
		if msgs := ValidateValue(v); len(msgs) != 0 {
			errs = append(errs, invalid(fmt.Sprintf("values[%d]", i), v, strings.Join(msgs, "; ")))
		}
	}
	if len(errs) != 0 {
		if len(errs) == 1 {
			return nil, fmt.Errorf("%s", errs[0])
		}
		return nil, fmt.Errorf("[%s]", strings.Join(errs, ", "))
	}
	return &Requirement{key: key, operator: op, values: sortedUnique(vals)}, nil
}

// invalid formats a message like upstream's field.Invalid.
func invalid(path string, value any, detail string) string {
	var v string
	switch x := value.(type) {
	case string:
		v = strconv.Quote(x)
	case []string:
		q := make([]string, len(x))
		for i, s := range x {
			q[i] = strconv.Quote(s)
		}
		v = "[]string{" + strings.Join(q, ", ") + "}"
	default:
		v = fmt.Sprint(x)
	}
	return fmt.Sprintf("%s: Invalid value: %s: %s", path, v, detail)
}

func sortedUnique(vals []string) []string {
	out := append([]string(nil), vals...)
	sort.Strings(out)
	n := 0
	for i, v := range out {
		if i == 0 || v != out[n-1] {
			out[n] = v
			n++
		}
	}
	return out[:n]
}

// Key returns the requirement's key.
func (r *Requirement) Key() string { return r.key }

// Operator returns the requirement's operator.
func (r *Requirement) Operator() Operator { return r.operator }

// Values returns a copy of the requirement's sorted values.
func (r *Requirement) Values() []string { return append([]string(nil), r.values...) }

func (r *Requirement) hasValue(v string) bool {
	for _, x := range r.values {
		if x == v {
			return true
		}
	}
	return false
}

// Matches reports whether the set satisfies the requirement. NotIn and != match a set
// without the key, as upstream.
func (r *Requirement) Matches(ls Set) bool {
	v, ok := ls[r.key]
	switch r.operator {
	case In, Equals, DoubleEquals:
		return ok && r.hasValue(v)
	case NotIn, NotEquals:
		return !ok || !r.hasValue(v)
	case Exists:
		return ok
	case DoesNotExist:
		return !ok
	case GreaterThan, LessThan:
		if !ok || len(r.values) != 1 {
			return false
		}
		have, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return false
		}
		want, err := strconv.ParseInt(r.values[0], 10, 64)
		if err != nil {
			return false
		}
		if r.operator == GreaterThan {
			return have > want
		}
		return have < want
	}
	return false
}

// String renders the requirement in the syntax Parse accepts.
func (r *Requirement) String() string {
	var b strings.Builder
	if r.operator == DoesNotExist {
		b.WriteByte('!')
	}
	b.WriteString(r.key)
	switch r.operator {
	case Exists, DoesNotExist:
		return b.String()
	case Equals:
		b.WriteByte('=')
	case DoubleEquals:
		b.WriteString("==")
	case NotEquals:
		b.WriteString("!=")
	case In:
		b.WriteString(" in (")
	case NotIn:
		b.WriteString(" notin (")
	case GreaterThan:
		b.WriteByte('>')
	case LessThan:
		b.WriteByte('<')
	}
	b.WriteString(strings.Join(r.values, ","))
	if r.operator == In || r.operator == NotIn {
		b.WriteByte(')')
	}
	return b.String()
}

// internalSelector is a conjunction of requirements sorted by key.
type internalSelector []Requirement

func sortByKey(s internalSelector) {
	sort.SliceStable(s, func(i, j int) bool { return s[i].key < s[j].key })
}

func (s internalSelector) Matches(ls Set) bool {
	for i := range s {
		if !s[i].Matches(ls) {
			return false
		}
	}
	return true
}

func (s internalSelector) Empty() bool { return len(s) == 0 }

func (s internalSelector) String() string {
	parts := make([]string, len(s))
	for i := range s {
		parts[i] = s[i].String()
	}
	return strings.Join(parts, ",")
}

func (s internalSelector) Add(reqs ...Requirement) Selector {
	out := make(internalSelector, 0, len(s)+len(reqs))
	out = append(out, s...)
	out = append(out, reqs...)
	sortByKey(out)
	return out
}

func (s internalSelector) Requirements() ([]Requirement, bool) {
	return append([]Requirement(nil), s...), true
}

func (s internalSelector) RequiresExactMatch(key string) (string, bool) {
	for i := range s {
		r := &s[i]
		if r.key != key {
			continue
		}
		switch r.operator {
		case Equals, DoubleEquals, In:
			if len(r.values) == 1 {
				return r.values[0], true
			}
		}
	}
	return "", false
}

type nothingSelector struct{}

func (nothingSelector) Matches(Set) bool                         { return false }
func (nothingSelector) Empty() bool                              { return false }
func (nothingSelector) String() string                           { return "" }
func (nothingSelector) Add(...Requirement) Selector              { return nothingSelector{} }
func (nothingSelector) Requirements() ([]Requirement, bool)      { return nil, false }
func (nothingSelector) RequiresExactMatch(string) (string, bool) { return "", false }

// SelectorFromLabelSelector converts an API LabelSelector, as upstream's
// metav1.LabelSelectorAsSelector: nil selects nothing, an empty selector everything.
func SelectorFromLabelSelector(ps *metav1.LabelSelector) (Selector, error) {
	if ps == nil {
		return Nothing(), nil
	}
	if len(ps.GetMatchLabels())+len(ps.GetMatchExpressions()) == 0 {
		return Everything(), nil
	}
	reqs := make(internalSelector, 0, len(ps.GetMatchLabels())+len(ps.GetMatchExpressions()))
	for k, v := range ps.GetMatchLabels() {
		r, err := NewRequirement(k, Equals, []string{v})
		if err != nil {
			return nil, err
		}
		reqs = append(reqs, *r)
	}
	for _, expr := range ps.GetMatchExpressions() {
		var op Operator
		switch expr.GetOperator() {
		case "In":
			op = In
		case "NotIn":
			op = NotIn
		case "Exists":
			op = Exists
		case "DoesNotExist":
			op = DoesNotExist
		default:
			return nil, fmt.Errorf("%q is not a valid label selector operator", expr.GetOperator())
		}
		r, err := NewRequirement(expr.GetKey(), op, expr.GetValues())
		if err != nil {
			return nil, err
		}
		reqs = append(reqs, *r)
	}
	sortByKey(reqs)
	return reqs, nil
}

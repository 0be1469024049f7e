// Package jsonpath evaluates kubectl's JSONPath templates (-o jsonpath=..., --sort-by,
// custom-columns, wait --for=jsonpath) on objects in their JSON-map form. It covers the
// part of upstream's dialect people use: literal text, {.a.b}, {.a['dotted.key']},
// {.list[0]}, {.list[*].x}, {.list[-1]}, {..x} (recursive), filters
// {.list[?(@.type=="Ready")].status}, {range .items[*]}...{end}, {"\n"} and \t escapes.
package jsonpath

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"kube5/kubectl/internal/unstructured"
)

// Template is a parsed JSONPath template.
type Template struct {
	nodes []node
}

type nodeKind int

const (
	textNode nodeKind = iota
	pathNode
	rangeNode
	endNode
)

type node struct {
	kind nodeKind
	text string
	path []step
	body []node // rangeNode
}

type stepKind int

const (
	fieldStep stepKind = iota
	indexStep
	wildcardStep
	recursiveStep
	filterStep
)

type step struct {
	kind   stepKind
	name   string
	index  int
	hasEnd bool
	end    int
	slice  bool
	// filter: @.path op value
	fpath []step
	op    string
	value string
}

// Parse parses a template. A bare path without braces (".metadata.name") is accepted as
// kubectl's custom-columns and --sort-by write them.
func Parse(tmpl string) (*Template, error) {
	if !strings.Contains(tmpl, "{") {
		tmpl = "{" + tmpl + "}"
	}
	var flat []node
	for len(tmpl) > 0 {
		i := strings.Index(tmpl, "{")
		if i < 0 {
			flat = append(flat, node{kind: textNode, text: tmpl})
			break
		}
		if i > 0 {
			flat = append(flat, node{kind: textNode, text: tmpl[:i]})
		}
		j := matchingBrace(tmpl, i)
		if j < 0 {
			return nil, fmt.Errorf("unclosed action")
		}
		n, err := parseAction(strings.TrimSpace(tmpl[i+1 : j]))
		if err != nil {
			return nil, err
		}
		flat = append(flat, n)
		tmpl = tmpl[j+1:]
	}
	nodes, rest, err := nest(flat)
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		return nil, fmt.Errorf("not in range, nothing to end")
	}
	return &Template{nodes: nodes}, nil
}

func matchingBrace(s string, open int) int {
	inQuote := byte(0)
	for i := open + 1; i < len(s); i++ {
		c := s[i]
		switch {
		case inQuote != 0:
			if c == '\\' {
				i++
			} else if c == inQuote {
				inQuote = 0
			}
		case c == '"' || c == '\'':
			inQuote = c
		case c == '}':
			return i
		}
	}
	return -1
}

func nest(flat []node) (out []node, rest []node, err error) {
	for i := 0; i < len(flat); i++ {
		n := flat[i]
		switch n.kind {
		case endNode:
			return out, flat[i:], nil
		case rangeNode:
			body, r, err := nest(flat[i+1:])
			if err != nil {
				return nil, nil, err
			}
			if len(r) == 0 {
				return nil, nil, fmt.Errorf("unclosed range")
			}
			n.body = body
			out = append(out, n)
			i = len(flat) - len(r) // r[0] is the end node
		default:
			out = append(out, n)
		}
	}
	return out, nil, nil
}

func parseAction(a string) (node, error) {
	switch {
	case a == "end":
		return node{kind: endNode}, nil
	case strings.HasPrefix(a, "range "):
		p, err := parsePath(strings.TrimSpace(a[len("range "):]))
		return node{kind: rangeNode, path: p}, err
	case strings.HasPrefix(a, `"`) || strings.HasPrefix(a, `'`):
		s, err := strconv.Unquote(`"` + strings.ReplaceAll(a[1:len(a)-1], `"`, `\"`) + `"`)
		if err != nil {
			return node{}, fmt.Errorf("invalid literal %s", a)
		}
		return node{kind: textNode, text: s}, nil
	}
	p, err := parsePath(a)
	return node{kind: pathNode, path: p}, err
}

func parsePath(s string) ([]step, error) {
	s = strings.TrimPrefix(s, "$")
	s = strings.TrimPrefix(s, "@")
	var steps []step
	for len(s) > 0 {
		switch {
		case strings.HasPrefix(s, ".."):
			s = s[2:]
			steps = append(steps, step{kind: recursiveStep})
			name, rest := fieldName(s)
			if name != "" {
				steps = append(steps, step{kind: fieldStep, name: name})
			}
			s = rest
		case s[0] == '.':
			name, rest := fieldName(s[1:])
			if name == "*" {
				steps = append(steps, step{kind: wildcardStep})
			} else if name != "" {
				steps = append(steps, step{kind: fieldStep, name: name})
			}
			s = rest
		case s[0] == '[':
			j := matchingBracket(s)
			if j < 0 {
				return nil, fmt.Errorf("unterminated array in %q", s)
			}
			st, err := parseBracket(s[1:j])
			if err != nil {
				return nil, err
			}
			steps = append(steps, st)
			s = s[j+1:]
		default:
			name, rest := fieldName(s)
			if name == "" {
				return nil, fmt.Errorf("unrecognized character in action: %q", s)
			}
			steps = append(steps, step{kind: fieldStep, name: name})
			s = rest
		}
	}
	return steps, nil
}

func fieldName(s string) (string, string) {
	i := strings.IndexAny(s, ".[")
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i:]
}

func matchingBracket(s string) int {
	depth := 0
	inQuote := byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inQuote != 0:
			if c == inQuote {
				inQuote = 0
			}
		case c == '"' || c == '\'':
			inQuote = c
		case c == '[':
			depth++
		case c == ']':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

func parseBracket(in string) (step, error) {
	in = strings.TrimSpace(in)
	switch {
	case in == "*":
		return step{kind: wildcardStep}, nil
	case strings.HasPrefix(in, "'") || strings.HasPrefix(in, `"`):
		return step{kind: fieldStep, name: strings.Trim(in, `'"`)}, nil
	case strings.HasPrefix(in, "?(") && strings.HasSuffix(in, ")"):
		expr := strings.TrimSpace(in[2 : len(in)-1])
		for _, op := range []string{"==", "!=", "<=", ">=", "<", ">"} {
			if i := strings.Index(expr, op); i > 0 {
				p, err := parsePath(strings.TrimSpace(expr[:i]))
				if err != nil {
					return step{}, err
				}
				v := strings.Trim(strings.TrimSpace(expr[i+len(op):]), `'"`)
				return step{kind: filterStep, fpath: p, op: op, value: v}, nil
			}
		}
		p, err := parsePath(expr)
		return step{kind: filterStep, fpath: p}, err
	case strings.Contains(in, ":"):
		parts := strings.SplitN(in, ":", 3)
		st := step{kind: indexStep, slice: true}
		if parts[0] != "" {
			n, err := strconv.Atoi(parts[0])
			if err != nil {
				return step{}, err
			}
			st.index = n
		}
		if parts[1] != "" {
			n, err := strconv.Atoi(parts[1])
			if err != nil {
				return step{}, err
			}
			st.end, st.hasEnd = n, true
		}
		return st, nil
	}
	n, err := strconv.Atoi(in)
	if err != nil {
		return step{}, fmt.Errorf("invalid array index %q", in)
	}
	return step{kind: indexStep, index: n}, nil
}

// Eval returns the values the path selects in data.
func eval(steps []step, data []any) []any {
	cur := data
	for _, st := range steps {
		var next []any
		for _, v := range cur {
			next = append(next, apply(st, v)...)
		}
		cur = next
	}
	return cur
}

func apply(st step, v any) []any {
	switch st.kind {
	case fieldStep:
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		if x, ok := m[st.name]; ok {
			return []any{x}
		}
		return nil
	case wildcardStep:
		switch x := v.(type) {
		case []any:
			return x
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			out := make([]any, 0, len(x))
			for _, k := range keys {
				out = append(out, x[k])
			}
			return out
		}
		return nil
	case indexStep:
		l, ok := v.([]any)
		if !ok {
			return nil
		}
		i := st.index
		if i < 0 {
			i += len(l)
		}
		if !st.slice {
			if i < 0 || i >= len(l) {
				return nil
			}
			return []any{l[i]}
		}
		end := len(l)
		if st.hasEnd {
			end = st.end
			if end < 0 {
				end += len(l)
			}
		}
		if i < 0 {
			i = 0
		}
		if end > len(l) {
			end = len(l)
		}
		if i >= end {
			return nil
		}
		return l[i:end]
	case recursiveStep:
		var out []any
		var walk func(any)
		walk = func(x any) {
			out = append(out, x)
			switch y := x.(type) {
			case map[string]any:
				keys := make([]string, 0, len(y))
				for k := range y {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				for _, k := range keys {
					walk(y[k])
				}
			case []any:
				for _, e := range y {
					walk(e)
				}
			}
		}
		walk(v)
		return out
	case filterStep:
		l, ok := v.([]any)
		if !ok {
			return nil
		}
		var out []any
		for _, e := range l {
			got := eval(st.fpath, []any{e})
			if st.op == "" {
				if len(got) > 0 {
					out = append(out, e)
				}
				continue
			}
			if len(got) == 0 {
				continue
			}
			if compare(unstructured.Scalar(got[0]), st.op, st.value) {
				out = append(out, e)
			}
		}
		return out
	}
	return nil
}

func compare(a, op, b string) bool {
	fa, errA := strconv.ParseFloat(a, 64)
	fb, errB := strconv.ParseFloat(b, 64)
	numeric := errA == nil && errB == nil
	switch op {
	case "==":
		return a == b
	case "!=":
		return a != b
	case "<":
		return numeric && fa < fb
	case ">":
		return numeric && fa > fb
	case "<=":
		return numeric && fa <= fb
	case ">=":
		return numeric && fa >= fb
	}
	return false
}

// Execute renders the template against data. Several results of one action are joined
// by spaces, as upstream.
func (t *Template) Execute(data any) (string, error) {
	var b strings.Builder
	if err := run(&b, t.nodes, data); err != nil {
		return "", err
	}
	return b.String(), nil
}

func run(b *strings.Builder, nodes []node, data any) error {
	for _, n := range nodes {
		switch n.kind {
		case textNode:
			b.WriteString(n.text)
		case pathNode:
			vals := eval(n.path, []any{data})
			for i, v := range vals {
				if i > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(unstructured.Scalar(v))
			}
		case rangeNode:
			for _, v := range eval(n.path, []any{data}) {
				if err := run(b, n.body, v); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// Values returns the values one path template selects (custom-columns, --sort-by).
func (t *Template) Values(data any) []any {
	var out []any
	for _, n := range t.nodes {
		if n.kind == pathNode {
			out = append(out, eval(n.path, []any{data})...)
		}
	}
	return out
}

package testserver

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	rpcv1 "kube5/proto/api/rpc/v1"
	"kube5/proto/apierrors"
	"kube5/proto/scheme"
)

func protoName(s string) protoreflect.Name { return protoreflect.Name(s) }

// filter is a namespace plus simple label and field selectors.
type filter struct {
	namespace string
	labels    []term
	fields    []term
}

type term struct {
	key, value string
	op         string // "=", "!=", "exists", "!exists"
}

func parseTerms(sel string, allowExists bool) ([]term, error) {
	var out []term
	for _, part := range strings.Split(sel, ",") {
		part = strings.TrimSpace(part)
		switch {
		case part == "":
		case strings.Contains(part, "!="):
			k, v, _ := strings.Cut(part, "!=")
			out = append(out, term{strings.TrimSpace(k), strings.TrimSpace(v), "!="})
		case strings.Contains(part, "="):
			k, v, _ := strings.Cut(strings.Replace(part, "==", "=", 1), "=")
			out = append(out, term{strings.TrimSpace(k), strings.TrimSpace(v), "="})
		case allowExists && strings.HasPrefix(part, "!"):
			out = append(out, term{key: part[1:], op: "!exists"})
		case allowExists:
			out = append(out, term{key: part, op: "exists"})
		default:
			return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid selector: %q", sel))
		}
	}
	return out, nil
}

func newFilter(res *scheme.Resource, ref *rpcv1.ResourceRef, o *rpcv1.ListOptions) (*filter, error) {
	f := &filter{namespace: nsFor(res, ref)}
	var err error
	if f.labels, err = parseTerms(o.GetLabelSelector(), true); err != nil {
		return nil, err
	}
	if f.fields, err = parseTerms(o.GetFieldSelector(), false); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *filter) matches(obj scheme.Object) bool {
	if obj == nil {
		return false
	}
	md := obj.GetMetadata()
	if f.namespace != "" && md.GetNamespace() != f.namespace {
		return false
	}
	for _, t := range f.labels {
		v, ok := md.GetLabels()[t.key]
		if !t.holds(v, ok) {
			return false
		}
	}
	for _, t := range f.fields {
		v := fieldValue(obj.ProtoReflect(), t.key)
		if !t.holds(v, true) {
			return false
		}
	}
	return true
}

func (t term) holds(v string, ok bool) bool {
	switch t.op {
	case "=":
		return ok && v == t.value
	case "!=":
		return !ok || v != t.value
	case "exists":
		return ok
	default:
		return !ok
	}
}

// fieldValue walks a dotted path of JSON field names ("spec.nodeName") to a scalar.
func fieldValue(m protoreflect.Message, path string) string {
	parts := strings.Split(path, ".")
	for i, p := range parts {
		fd := m.Descriptor().Fields().ByJSONName(p)
		if fd == nil {
			fd = m.Descriptor().Fields().ByName(protoreflect.Name(p))
		}
		if fd == nil {
			return ""
		}
		v := m.Get(fd)
		if i == len(parts)-1 {
			if fd.Kind() == protoreflect.MessageKind {
				return ""
			}
			return fmt.Sprint(v.Interface())
		}
		if fd.Kind() != protoreflect.MessageKind || fd.IsList() || fd.IsMap() {
			return ""
		}
		m = v.Message()
	}
	return ""
}

func event(typ string, obj proto.Message) (*rpcv1.WatchEvent, error) {
	b, err := proto.Marshal(obj)
	if err != nil {
		return nil, err
	}
	return &rpcv1.WatchEvent{Type: typ, Object: b}, nil
}

func expired(rv, compacted int64) *apierrors.StatusError {
	return apierrors.NewResourceExpired(fmt.Sprintf("too old resource version: %d (%d)", rv, compacted))
}

// Watch implements the Watch call. Each watch reads the shared history from its own
// position, so a slow watcher never holds up writers or other watchers.
func (s *Server) Watch(req *rpcv1.WatchRequest, stream rpcv1.Resources_WatchServer) error {
	s.count("Watch")
	ctx := stream.Context()
	res, err := resource(req.GetRef())
	if err != nil {
		return apierrors.ToGRPC(err)
	}
	opts := req.GetOptions()
	f, err := newFilter(res, req.GetRef(), opts)
	if err != nil {
		return apierrors.ToGRPC(err)
	}
	var initial []*rpcv1.WatchEvent
	s.mu.Lock()
	var pos int64
	switch rv := opts.GetResourceVersion(); rv {
	case "", "0":
		var keys []string
		for k, e := range s.objs {
			if e.res == res && f.matches(e.obj) {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			ev, err := event("ADDED", s.objs[k].obj)
			if err != nil {
				s.mu.Unlock()
				return apierrors.ToGRPC(err)
			}
			initial = append(initial, ev)
		}
		pos = s.rev
	default:
		n, err := strconv.ParseInt(rv, 10, 64)
		if err != nil {
			s.mu.Unlock()
			return apierrors.ToGRPC(apierrors.NewBadRequest(fmt.Sprintf("invalid resource version %q", rv)))
		}
		pos = n
	}
	expire := s.expire
	s.active++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.active--
		s.mu.Unlock()
	}()

	for _, ev := range initial {
		if err := stream.Send(ev); err != nil {
			return err
		}
	}
	var tick <-chan time.Time
	if opts.GetAllowWatchBookmarks() {
		iv := s.BookmarkInterval
		if iv <= 0 {
			iv = 100 * time.Millisecond
		}
		t := time.NewTicker(iv)
		defer t.Stop()
		tick = t.C
	}
	var timeout <-chan time.Time
	if ts := opts.GetTimeoutSeconds(); ts > 0 {
		tm := time.NewTimer(time.Duration(ts) * time.Second)
		defer tm.Stop()
		timeout = tm.C
	}
	sendStatus := func(st *apierrors.StatusError) error {
		ev, err := event("ERROR", st.Status())
		if err != nil {
			return err
		}
		return stream.Send(ev)
	}
	for {
		s.mu.Lock()
		if pos < s.compacted {
			compacted := s.compacted
			s.mu.Unlock()
			if s.GoneAsEvent {
				return sendStatus(expired(pos, compacted))
			}
			return apierrors.ToGRPC(expired(pos, compacted))
		}
		i := sort.Search(len(s.history), func(i int) bool { return s.history[i].rev > pos })
		var evs []*rpcv1.WatchEvent
		for _, c := range s.history[i:] {
			if c.res != res {
				continue
			}
			typ, obj := c.typ, c.obj
			now, before := f.matches(c.obj), c.prev != nil && f.matches(c.prev)
			switch {
			case c.typ == "DELETED" && !before:
				continue
			case c.typ == "MODIFIED" && now && !before:
				typ = "ADDED"
			case c.typ == "MODIFIED" && !now && before:
				typ = "DELETED" // stopped matching: gone for this watcher
			case c.typ != "DELETED" && !now:
				continue
			}
			ev, err := event(typ, obj)
			if err != nil {
				s.mu.Unlock()
				return err
			}
			evs = append(evs, ev)
		}
		pos = s.rev
		changed := s.changed
		s.mu.Unlock()
		for _, ev := range evs {
			if err := stream.Send(ev); err != nil {
				return err
			}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil
		case <-timeout:
			return nil
		case <-expire:
			return sendStatus(expired(pos, pos))
		case <-tick:
			bm := res.New()
			bm.ProtoReflect().Mutable(bm.ProtoReflect().Descriptor().Fields().ByName("metadata"))
			setRV(bm, pos)
			ev, err := event("BOOKMARK", bm)
			if err != nil {
				return err
			}
			if err := stream.Send(ev); err != nil {
				return err
			}
		}
	}
}

// Package testserver is an in-memory kube5.rpc.v1.Resources server on a real loopback
// gRPC listener, for the tests of the client, informers and leader election before (and
// beside) the real apiserver. It keeps objects in a map with one revision counter,
// implements upstream's watch semantics (synthetic ADDED for "" or "0", events strictly
// after a revision, BOOKMARKs, DELETED when an object stops matching a selector, Expired
// for a compacted revision), and can be stopped and restarted on the same address with
// its state kept, as an apiserver restart over etcd would.
//
// It is a test double, not a second apiserver: no defaulting, no validation beyond what
// the client tests need, and simple selectors (k=v, k!=v, k, !k; field paths by JSON name).
package testserver

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/protobuf/proto"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	rpcv1 "kube5/proto/api/rpc/v1"
	"kube5/proto/apierrors"
	"kube5/proto/apierrors/field"
	"kube5/proto/scheme"
)

// Server is the in-memory apiserver. Its exported fields may be set before the first
// request and not changed after.
type Server struct {
	rpcv1.UnimplementedResourcesServer

	// BookmarkInterval is how often watches that allow bookmarks get one (default 100ms).
	BookmarkInterval time.Duration
	// GoneAsEvent makes a watch from a compacted revision answer with an ERROR event
	// (as upstream's watch cache does) instead of failing the call.
	GoneAsEvent bool

	mu        sync.Mutex
	rev       int64
	objs      map[string]*entry
	history   []change // every change after compacted, in revision order
	compacted int64
	changed   chan struct{} // closed and replaced on every change
	expire    chan struct{} // closed and replaced by ExpireWatches
	calls     map[string]int
	active    int // open watches

	addr string
	gs   *grpc.Server
}

type entry struct {
	res *scheme.Resource
	obj scheme.Object
}

type change struct {
	rev       int64
	typ       string // ADDED, MODIFIED, DELETED
	res       *scheme.Resource
	obj, prev scheme.Object // prev: the state before a MODIFIED or DELETED
}

// New returns a server that is not listening; call Start.
func New() *Server {
	return &Server{
		objs:    map[string]*entry{},
		changed: make(chan struct{}),
		expire:  make(chan struct{}),
		calls:   map[string]int{},
	}
}

// Start returns a listening server on a free loopback port, stopped when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := New()
	if err := s.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Listen starts serving on addr ("127.0.0.1:0" picks a port); Restart reuses it.
func (s *Server) Listen(addr string) error {
	var lis net.Listener
	var err error
	// The port may still be held briefly by the previous listener: retry for a while.
	for deadline := time.Now().Add(5 * time.Second); ; {
		lis, err = net.Listen("tcp", addr)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	gs := grpc.NewServer(grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
		MinTime: 5 * time.Second, PermitWithoutStream: true,
	}))
	rpcv1.RegisterResourcesServer(gs, s)
	s.mu.Lock()
	s.addr, s.gs = lis.Addr().String(), gs
	s.mu.Unlock()
	go func() { _ = gs.Serve(lis) }()
	return nil
}

// Addr is the host:port the server listens (or listened) on.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Stop closes the listener and every connection, ending all streams, as a crashed
// apiserver would. The state is kept; Restart serves it again.
func (s *Server) Stop() {
	s.mu.Lock()
	gs := s.gs
	s.gs = nil
	s.mu.Unlock()
	if gs != nil {
		gs.Stop()
	}
}

// Restart listens again on the same address.
func (s *Server) Restart() error {
	return s.Listen(s.Addr())
}

// Compact forgets the history: watches from any revision before now get Expired.
func (s *Server) Compact() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.compacted = s.rev
	s.history = nil
}

// ExpireWatches sends every open watch an ERROR event (410 Expired) and ends it.
func (s *Server) ExpireWatches() {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.expire)
	s.expire = make(chan struct{})
}

// Revision is the current revision.
func (s *Server) Revision() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rev
}

// ActiveWatches is the number of watches being served (ExpireWatches reaches them).
func (s *Server) ActiveWatches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.active
}

// Calls counts the requests of one method ("List", "Watch", "Get", ...).
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

func (s *Server) count(method string) {
	s.mu.Lock()
	s.calls[method]++
	s.mu.Unlock()
}

func key(res *scheme.Resource, ns, name string) string {
	return res.Group + "/" + res.Resource + "/" + ns + "/" + name
}

func gr(res *scheme.Resource) apierrors.GroupResource {
	return apierrors.GroupResource{Group: res.Group, Resource: res.Resource}
}

func resource(ref *rpcv1.ResourceRef) (*scheme.Resource, error) {
	res, ok := scheme.ByGroupResource(ref.GetGroup(), ref.GetResource())
	if !ok || res.Resource == "" {
		return nil, apierrors.NewNotFound(apierrors.GroupResource{Group: ref.GetGroup(), Resource: ref.GetResource()}, "")
	}
	return res, nil
}

// commit records a change under s.mu and wakes the watches.
func (s *Server) commit(typ string, res *scheme.Resource, obj, prev scheme.Object) {
	s.history = append(s.history, change{rev: s.rev, typ: typ, res: res, obj: obj, prev: prev})
	close(s.changed)
	s.changed = make(chan struct{})
}

func encode(obj proto.Message) (*rpcv1.ObjectResponse, error) {
	b, err := proto.Marshal(obj)
	if err != nil {
		return nil, apierrors.ToGRPC(err)
	}
	return &rpcv1.ObjectResponse{Object: b}, nil
}

func setRV(obj scheme.Object, rev int64) {
	obj.GetMetadata().ResourceVersion = strconv.FormatInt(rev, 10)
}

// Create implements the Create call, including pods/binding.
func (s *Server) Create(_ context.Context, req *rpcv1.CreateRequest) (*rpcv1.ObjectResponse, error) {
	s.count("Create")
	res, err := resource(req.GetRef())
	if err != nil {
		return nil, apierrors.ToGRPC(err)
	}
	if req.GetSubresource() == "binding" && res.Resource == "pods" {
		return s.bind(req)
	}
	if req.GetSubresource() != "" {
		return nil, apierrors.ToGRPC(apierrors.NewMethodNotSupported(gr(res), "create "+req.GetSubresource()))
	}
	obj := res.New()
	if err := proto.Unmarshal(req.GetObject(), obj); err != nil {
		return nil, apierrors.ToGRPC(apierrors.NewBadRequest(err.Error()))
	}
	if obj.GetMetadata() == nil {
		obj.ProtoReflect().Mutable(obj.ProtoReflect().Descriptor().Fields().ByName("metadata"))
	}
	md := obj.GetMetadata()
	if md.Name == "" && md.GenerateName != "" {
		md.Name = md.GenerateName + strings.ReplaceAll(uuid.NewString(), "-", "")[:5]
	}
	if md.Name == "" {
		return nil, apierrors.ToGRPC(apierrors.NewInvalid(apierrors.GroupKind{Group: res.Group, Kind: res.Kind}, "",
			field.ErrorList{field.Required(field.NewPath("metadata", "name"), "name or generateName is required")}))
	}
	if res.Namespaced {
		ns := req.GetRef().GetNamespace()
		if md.Namespace != "" && ns != "" && md.Namespace != ns {
			return nil, apierrors.ToGRPC(apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request"))
		}
		if ns == "" {
			ns = md.Namespace
		}
		if ns == "" {
			ns = "default"
		}
		md.Namespace = ns
	} else {
		md.Namespace = ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key(res, md.Namespace, md.Name)
	if _, ok := s.objs[k]; ok {
		return nil, apierrors.ToGRPC(apierrors.NewAlreadyExists(gr(res), md.Name))
	}
	s.rev++
	setRV(obj, s.rev)
	md.Uid = uuid.NewString()
	md.CreationTimestamp = &metav1.Time{Seconds: time.Now().Unix()}
	md.Generation = 1
	s.objs[k] = &entry{res: res, obj: obj}
	s.commit("ADDED", res, obj, nil)
	return encode(obj)
}

func (s *Server) bind(req *rpcv1.CreateRequest) (*rpcv1.ObjectResponse, error) {
	b := &corev1.Binding{}
	if err := proto.Unmarshal(req.GetObject(), b); err != nil {
		return nil, apierrors.ToGRPC(apierrors.NewBadRequest(err.Error()))
	}
	res, _ := scheme.ByGroupResource("", "pods")
	s.mu.Lock()
	defer s.mu.Unlock()
	name := req.GetName()
	if name == "" {
		name = b.GetMetadata().GetName()
	}
	e, ok := s.objs[key(res, req.GetRef().GetNamespace(), name)]
	if !ok {
		return nil, apierrors.ToGRPC(apierrors.NewNotFound(gr(res), name))
	}
	pod := proto.Clone(e.obj).(*corev1.Pod)
	if pod.GetSpec().GetNodeName() != "" {
		return nil, apierrors.ToGRPC(apierrors.NewConflict(gr(res), name,
			fmt.Errorf("pod %s is already assigned to node %q", name, pod.GetSpec().GetNodeName())))
	}
	if pod.Spec == nil {
		pod.Spec = &corev1.PodSpec{}
	}
	pod.Spec.NodeName = b.GetTarget().GetName()
	s.rev++
	setRV(pod, s.rev)
	prev := e.obj
	e.obj = pod
	s.commit("MODIFIED", res, pod, prev)
	return encode(&metav1.Status{Kind: "Status", ApiVersion: "v1", Status: "Success", Code: 201})
}

// Get implements the Get call ("status" answers the object).
func (s *Server) Get(_ context.Context, req *rpcv1.GetRequest) (*rpcv1.ObjectResponse, error) {
	s.count("Get")
	res, err := resource(req.GetRef())
	if err != nil {
		return nil, apierrors.ToGRPC(err)
	}
	if sub := req.GetSubresource(); sub != "" && sub != "status" {
		return nil, apierrors.ToGRPC(apierrors.NewMethodNotSupported(gr(res), "get "+sub))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.objs[key(res, nsFor(res, req.GetRef()), req.GetName())]
	if !ok {
		return nil, apierrors.ToGRPC(apierrors.NewNotFound(gr(res), req.GetName()))
	}
	return encode(e.obj)
}

func nsFor(res *scheme.Resource, ref *rpcv1.ResourceRef) string {
	if !res.Namespaced {
		return ""
	}
	return ref.GetNamespace()
}

// Update implements the Update call ("status" replaces only the status).
func (s *Server) Update(_ context.Context, req *rpcv1.UpdateRequest) (*rpcv1.ObjectResponse, error) {
	s.count("Update")
	res, err := resource(req.GetRef())
	if err != nil {
		return nil, apierrors.ToGRPC(err)
	}
	sub := req.GetSubresource()
	if sub != "" && sub != "status" {
		return nil, apierrors.ToGRPC(apierrors.NewMethodNotSupported(gr(res), "update "+sub))
	}
	in := res.New()
	if err := proto.Unmarshal(req.GetObject(), in); err != nil {
		return nil, apierrors.ToGRPC(apierrors.NewBadRequest(err.Error()))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	name := req.GetName()
	e, ok := s.objs[key(res, nsFor(res, req.GetRef()), name)]
	if !ok {
		return nil, apierrors.ToGRPC(apierrors.NewNotFound(gr(res), name))
	}
	cur := e.obj
	if rv := in.GetMetadata().GetResourceVersion(); rv != "" && rv != cur.GetMetadata().GetResourceVersion() {
		return nil, apierrors.ToGRPC(apierrors.NewConflict(gr(res), name,
			fmt.Errorf("the object has been modified; please apply your changes to the latest version and try again")))
	}
	var next scheme.Object
	if sub == "status" {
		next = proto.Clone(cur).(scheme.Object)
		copyField(next, in, "status")
	} else {
		next = in
		md, old := next.GetMetadata(), cur.GetMetadata()
		if md == nil {
			return nil, apierrors.ToGRPC(apierrors.NewBadRequest("metadata is required"))
		}
		md.Uid, md.CreationTimestamp, md.Namespace, md.Name = old.Uid, old.CreationTimestamp, old.Namespace, old.Name
		md.Generation = old.Generation
		copyField(next, cur, "status") // as upstream for resources with a status subresource
		if !fieldEqual(next, cur, "spec") {
			md.Generation++
		}
	}
	next.GetMetadata().ResourceVersion = cur.GetMetadata().GetResourceVersion()
	if proto.Equal(next, cur) {
		return encode(cur) // a no-op update changes nothing, not even the revision
	}
	s.rev++
	setRV(next, s.rev)
	e.obj = next
	s.commit("MODIFIED", res, next, cur)
	return encode(next)
}

func copyField(dst, src scheme.Object, name string) {
	fd := dst.ProtoReflect().Descriptor().Fields().ByName(protoName(name))
	if fd == nil {
		return
	}
	if src.ProtoReflect().Has(fd) {
		dst.ProtoReflect().Set(fd, src.ProtoReflect().Get(fd))
	} else {
		dst.ProtoReflect().Clear(fd)
	}
}

func fieldEqual(a, b scheme.Object, name string) bool {
	fd := a.ProtoReflect().Descriptor().Fields().ByName(protoName(name))
	if fd == nil {
		return true
	}
	return a.ProtoReflect().Get(fd).Equal(b.ProtoReflect().Get(fd))
}

// Delete implements the Delete call with resourceVersion and uid preconditions.
func (s *Server) Delete(_ context.Context, req *rpcv1.DeleteRequest) (*rpcv1.ObjectResponse, error) {
	s.count("Delete")
	res, err := resource(req.GetRef())
	if err != nil {
		return nil, apierrors.ToGRPC(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key(res, nsFor(res, req.GetRef()), req.GetName())
	e, ok := s.objs[k]
	if !ok {
		return nil, apierrors.ToGRPC(apierrors.NewNotFound(gr(res), req.GetName()))
	}
	pre := req.GetOptions().GetPreconditions()
	if pre != nil && pre.ResourceVersion != nil && *pre.ResourceVersion != e.obj.GetMetadata().GetResourceVersion() {
		return nil, apierrors.ToGRPC(apierrors.NewConflict(gr(res), req.GetName(), fmt.Errorf(
			"the ResourceVersion in the precondition (%s) does not match the ResourceVersion in record (%s). The object might have been modified",
			*pre.ResourceVersion, e.obj.GetMetadata().GetResourceVersion())))
	}
	if pre != nil && pre.Uid != nil && *pre.Uid != e.obj.GetMetadata().GetUid() {
		return nil, apierrors.ToGRPC(apierrors.NewConflict(gr(res), req.GetName(), fmt.Errorf(
			"the UID in the precondition (%s) does not match the UID in record (%s). The object might have been deleted and then recreated",
			*pre.Uid, e.obj.GetMetadata().GetUid())))
	}
	delete(s.objs, k)
	s.rev++
	gone := proto.Clone(e.obj).(scheme.Object)
	setRV(gone, s.rev)
	s.commit("DELETED", res, gone, e.obj)
	return encode(gone)
}

// List implements the List call, sorted by namespace and name, with limit/continue.
func (s *Server) List(_ context.Context, req *rpcv1.ListRequest) (*rpcv1.ListResponse, error) {
	s.count("List")
	res, err := resource(req.GetRef())
	if err != nil {
		return nil, apierrors.ToGRPC(err)
	}
	f, err := newFilter(res, req.GetRef(), req.GetOptions())
	if err != nil {
		return nil, apierrors.ToGRPC(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []string
	for k, e := range s.objs {
		if e.res == res && f.matches(e.obj) && k > req.GetOptions().GetContinue() {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	out := &rpcv1.ListResponse{ResourceVersion: strconv.FormatInt(s.rev, 10)}
	if l := req.GetOptions().GetLimit(); l > 0 && int64(len(keys)) > l {
		keys = keys[:l]
		out.Continue = keys[l-1]
	}
	for _, k := range keys {
		b, err := proto.Marshal(s.objs[k].obj)
		if err != nil {
			return nil, apierrors.ToGRPC(err)
		}
		out.Items = append(out.Items, b)
	}
	return out, nil
}

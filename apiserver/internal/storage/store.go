// Package storage keeps API objects in etcd v3 (design.md §3): one key per object,
// /registry/<resource>/[<namespace>/]<name>, whose value is the object's deterministic
// proto encoding without metadata.resourceVersion; the resourceVersion is the key's etcd
// mod revision and is set on every object read or returned. Creates and conditional
// writes are etcd transactions; read-modify-write loops retry on a lost race.
package storage

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/scheme"
)

// Prefix is the root of every API key, as upstream's default --etcd-prefix.
const Prefix = "/registry/"

// Key returns an object's key; namespace is "" for cluster-scoped resources.
func Key(resource, namespace, name string) string {
	if namespace == "" {
		return Prefix + resource + "/" + name
	}
	return Prefix + resource + "/" + namespace + "/" + name
}

// KeyPrefix returns the prefix (ending in "/") of a resource's keys, or of its keys in
// one namespace when namespace is not "".
func KeyPrefix(resource, namespace string) string {
	if namespace == "" {
		return Prefix + resource + "/"
	}
	return Prefix + resource + "/" + namespace + "/"
}

// Preconditions must hold on the stored object for an update or delete to proceed; an
// empty field is not checked.
type Preconditions struct {
	UID             string
	ResourceVersion string
}

// PreconditionsFrom converts the API's DeleteOptions.preconditions; nil stays nil.
func PreconditionsFrom(p *metav1.Preconditions) *Preconditions {
	if p == nil {
		return nil
	}
	return &Preconditions{UID: p.GetUid(), ResourceVersion: p.GetResourceVersion()}
}

// UpdateFunc computes the new state from the current one. It may modify and return cur,
// which is its own copy, and may be called more than once (once per attempt).
type UpdateFunc func(cur scheme.Object) (scheme.Object, error)

// ValidateFunc vets the current state before a delete; an error aborts the delete.
type ValidateFunc func(cur scheme.Object) error

// WriteOption adjusts Create and GuaranteedUpdate.
type WriteOption func(*writeOptions)

type writeOptions struct {
	ttl            time.Duration
	ignoreNotFound bool
}

// WithTTL attaches the written key to an etcd lease so that it expires, as upstream
// does for Events (--event-ttl).
func WithTTL(ttl time.Duration) WriteOption { return func(o *writeOptions) { o.ttl = ttl } }

// IgnoreNotFound makes GuaranteedUpdate create an absent key: tryUpdate receives an empty
// object (resourceVersion "") and the write requires the key to still be absent. This is
// upstream's create-on-update (PUT of a missing object, for resources that allow it).
func IgnoreNotFound() WriteOption { return func(o *writeOptions) { o.ignoreNotFound = true } }

// Option configures a Store.
type Option func(*Store)

// WithRequestTimeout bounds each operation whose context has no deadline (default 30s),
// so a request never hangs on an unreachable etcd.
func WithRequestTimeout(d time.Duration) Option { return func(s *Store) { s.timeout = d } }

// Store reads and writes API objects in etcd. It is safe for concurrent use.
type Store struct {
	client  *clientv3.Client
	timeout time.Duration

	leaseMu    sync.Mutex
	leaseID    clientv3.LeaseID
	leaseTTL   time.Duration
	leaseGrant time.Time
}

// New returns a Store over client.
func New(client *clientv3.Client, opts ...Option) *Store {
	s := &Store{client: client, timeout: 30 * time.Second}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Client returns the etcd client (the watch cache runs its own watch on it).
func (s *Store) Client() *clientv3.Client { return s.client }

func (s *Store) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok || s.timeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, s.timeout)
}

// marshal is deterministic so that equal objects have equal bytes: GuaranteedUpdate
// relies on it to skip no-op writes.
var marshal = proto.MarshalOptions{Deterministic: true}

// Encode returns obj's stored form: its deterministic proto encoding with
// metadata.resourceVersion cleared. obj's resourceVersion is cleared during the call and
// restored afterwards, so obj must not be read concurrently.
func Encode(obj scheme.Object) ([]byte, error) {
	md := obj.GetMetadata()
	if md == nil || md.ResourceVersion == "" {
		return marshal.Marshal(obj)
	}
	rv := md.ResourceVersion
	md.ResourceVersion = ""
	b, err := marshal.Marshal(obj)
	md.ResourceVersion = rv
	return b, err
}

// Decode fills into from a stored value and sets its resourceVersion to rev.
func Decode(data []byte, rev int64, into scheme.Object) error {
	if err := proto.Unmarshal(data, into); err != nil {
		return fmt.Errorf("decode %s: %w", into.ProtoReflect().Descriptor().FullName(), err)
	}
	SetResourceVersion(into, rev)
	return nil
}

// SetResourceVersion sets metadata.resourceVersion, allocating metadata if absent.
func SetResourceVersion(obj scheme.Object, rev int64) {
	meta(obj).ResourceVersion = strconv.FormatInt(rev, 10)
}

// meta returns obj's metadata, allocating it through reflection when nil (every API
// message keeps ObjectMeta in field 1).
func meta(obj scheme.Object) *metav1.ObjectMeta {
	if md := obj.GetMetadata(); md != nil {
		return md
	}
	m := obj.ProtoReflect()
	fd := m.Descriptor().Fields().ByNumber(1)
	md := &metav1.ObjectMeta{}
	m.Set(fd, protoreflect.ValueOfMessage(md.ProtoReflect()))
	return obj.GetMetadata()
}

// ParseResourceVersion parses a resourceVersion; "" is 0.
func ParseResourceVersion(rv string) (int64, error) {
	if rv == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(rv, 10, 64)
	if err != nil || n < 0 {
		return 0, NewError(ErrCodeBadRequest, "", 0, "invalid resource version %q", rv)
	}
	return n, nil
}

// copyInto makes into equal to src (different messages of the same type).
func copyInto(into, src scheme.Object) error {
	if into == src {
		return nil
	}
	if into.ProtoReflect().Descriptor() != src.ProtoReflect().Descriptor() {
		return fmt.Errorf("storage: cannot store a %s into a %s",
			src.ProtoReflect().Descriptor().FullName(), into.ProtoReflect().Descriptor().FullName())
	}
	proto.Reset(into)
	proto.Merge(into, src)
	return nil
}

func newLike(obj scheme.Object) scheme.Object {
	return obj.ProtoReflect().New().Interface().(scheme.Object)
}

// Create stores obj under key if the key does not exist (AlreadyExists otherwise) and
// sets obj's resourceVersion to the write's revision.
func (s *Store) Create(ctx context.Context, key string, obj scheme.Object, opts ...WriteOption) (err error) {
	start := time.Now()
	defer func() { record("create", key, start, err) }()
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	var o writeOptions
	for _, f := range opts {
		f(&o)
	}
	data, err := Encode(obj)
	if err != nil {
		return err
	}
	putOpts, err := s.leaseOpts(ctx, o.ttl)
	if err != nil {
		return InterpretEtcdError(err, key)
	}
	resp, err := s.client.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, string(data), putOpts...)).
		Commit()
	if err != nil {
		return InterpretEtcdError(err, key)
	}
	if !resp.Succeeded {
		return &Error{Code: ErrCodeAlreadyExists, Key: key}
	}
	SetResourceVersion(obj, resp.Header.Revision)
	return nil
}

// Get reads key into into; NotFound when absent.
func (s *Store) Get(ctx context.Context, key string, into scheme.Object) (err error) {
	start := time.Now()
	defer func() { record("get", key, start, err) }()
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	resp, err := s.client.Get(ctx, key)
	if err != nil {
		return InterpretEtcdError(err, key)
	}
	if len(resp.Kvs) == 0 {
		return &Error{Code: ErrCodeNotFound, Key: key}
	}
	return Decode(resp.Kvs[0].Value, resp.Kvs[0].ModRevision, into)
}

// state is one observed version of a key.
type state struct {
	obj    scheme.Object // decoded, resourceVersion set; an empty object when !exists
	data   []byte        // stored bytes (no resourceVersion)
	rev    int64         // mod revision; 0 when !exists
	exists bool
}

func stateFromKVs(kvs []*kvPair, like scheme.Object) (*state, error) {
	st := &state{obj: newLike(like)}
	if len(kvs) == 0 {
		return st, nil
	}
	st.data, st.rev, st.exists = kvs[0].value, kvs[0].modRev, true
	if err := Decode(st.data, st.rev, st.obj); err != nil {
		return nil, err
	}
	return st, nil
}

type kvPair struct {
	value  []byte
	modRev int64
}

func (s *Store) readState(ctx context.Context, key string, like scheme.Object) (*state, error) {
	resp, err := s.client.Get(ctx, key)
	if err != nil {
		return nil, InterpretEtcdError(err, key)
	}
	var kvs []*kvPair
	for _, kv := range resp.Kvs {
		kvs = append(kvs, &kvPair{kv.Value, kv.ModRevision})
	}
	return stateFromKVs(kvs, like)
}

// stateFromTxnElse reads the state from the Else branch (OpGet) of a failed transaction,
// saving a round trip on a lost race.
func stateFromTxnElse(resp *clientv3.TxnResponse, like scheme.Object) (*state, error) {
	rr := resp.Responses[0].GetResponseRange()
	var kvs []*kvPair
	for _, kv := range rr.GetKvs() {
		kvs = append(kvs, &kvPair{kv.Value, kv.ModRevision})
	}
	return stateFromKVs(kvs, like)
}

func stateFromHint(hint scheme.Object) (*state, error) {
	obj := proto.Clone(hint).(scheme.Object)
	rev, err := ParseResourceVersion(obj.GetMetadata().GetResourceVersion())
	if err != nil {
		return nil, err
	}
	data, err := Encode(obj)
	if err != nil {
		return nil, err
	}
	return &state{obj: obj, data: data, rev: rev, exists: true}, nil
}

// check applies the preconditions to the current state. msg is the conflict message for
// a resourceVersion mismatch (update and delete word it differently upstream).
func (p *Preconditions) check(key string, st *state, rvMsg func(want, have string) string) error {
	if p == nil {
		return nil
	}
	md := st.obj.GetMetadata()
	if p.UID != "" && p.UID != md.GetUid() {
		return &Error{Code: ErrCodeConflict, Key: key, ResourceVersion: st.rev,
			Message: fmt.Sprintf("Precondition failed: UID in precondition: %v, UID in object meta: %v", p.UID, md.GetUid())}
	}
	if p.ResourceVersion != "" && p.ResourceVersion != md.GetResourceVersion() {
		return &Error{Code: ErrCodeConflict, Key: key, ResourceVersion: st.rev,
			Message: rvMsg(p.ResourceVersion, md.GetResourceVersion())}
	}
	return nil
}

// ConflictMessage is upstream's explanation of an update on a stale resourceVersion.
const ConflictMessage = "the object has been modified; please apply your changes to the latest version and try again"

// GuaranteedUpdate reads key (or trusts cachedHint, a possibly stale copy from the watch
// cache, which is cloned and never modified), calls tryUpdate and writes the result if
// the key is unchanged since the read, retrying on a lost race. A failed precondition is
// Conflict (a stale ResourceVersion precondition therefore ends the loop rather than
// retrying); an absent key is NotFound unless IgnoreNotFound is given. When the new state
// encodes to the stored bytes nothing is written and the resourceVersion stays. On
// success into holds the new state with its resourceVersion.
func (s *Store) GuaranteedUpdate(ctx context.Context, key string, into scheme.Object, precondition *Preconditions,
	tryUpdate UpdateFunc, cachedHint scheme.Object, opts ...WriteOption) (err error) {
	start := time.Now()
	defer func() { record("update", key, start, err) }()
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	var o writeOptions
	for _, f := range opts {
		f(&o)
	}

	var cur *state
	current := false
	if cachedHint != nil {
		cur, err = stateFromHint(cachedHint)
	}
	if cachedHint == nil || err != nil {
		cur, err = s.readState(ctx, key, into)
		current = true
	}
	if err != nil {
		return err
	}
	refresh := func() error {
		cur, err = s.readState(ctx, key, into)
		current = true
		return err
	}

	for {
		if err := ctx.Err(); err != nil {
			return InterpretEtcdError(err, key)
		}
		if !cur.exists && !o.ignoreNotFound {
			return &Error{Code: ErrCodeNotFound, Key: key}
		}
		if cur.exists {
			if err := precondition.check(key, cur, func(_, _ string) string { return ConflictMessage }); err != nil {
				if !current {
					if err := refresh(); err != nil {
						return err
					}
					continue
				}
				return err
			}
		}
		ret, err := tryUpdate(cur.obj)
		if err != nil {
			// The hint may have been stale: only the current state's verdict counts.
			if !current {
				if err := refresh(); err != nil {
					return err
				}
				continue
			}
			return err
		}
		data, err := Encode(ret)
		if err != nil {
			return err
		}
		if cur.exists && bytes.Equal(data, cur.data) {
			if !current {
				if err := refresh(); err != nil {
					return err
				}
				continue
			}
			// Nothing changed: no write, no new resourceVersion, as upstream.
			if err := copyInto(into, ret); err != nil {
				return err
			}
			SetResourceVersion(into, cur.rev)
			return nil
		}
		putOpts, err := s.leaseOpts(ctx, o.ttl)
		if err != nil {
			return InterpretEtcdError(err, key)
		}
		resp, err := s.client.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(key), "=", cur.rev)).
			Then(clientv3.OpPut(key, string(data), putOpts...)).
			Else(clientv3.OpGet(key)).
			Commit()
		if err != nil {
			return InterpretEtcdError(err, key)
		}
		if !resp.Succeeded {
			// Lost the race: retry on the state the transaction read.
			if cur, err = stateFromTxnElse(resp, into); err != nil {
				return err
			}
			current = true
			continue
		}
		if err := copyInto(into, ret); err != nil {
			return err
		}
		SetResourceVersion(into, resp.Header.Revision)
		return nil
	}
}

// Delete removes key if the preconditions and validate accept its current state,
// retrying on a lost race. into receives the last state with resourceVersion set to the
// deletion's revision (what a watch sees in the DELETED event).
func (s *Store) Delete(ctx context.Context, key string, into scheme.Object, precondition *Preconditions,
	validate ValidateFunc) (err error) {
	start := time.Now()
	defer func() { record("delete", key, start, err) }()
	ctx, cancel := s.ctx(ctx)
	defer cancel()

	cur, err := s.readState(ctx, key, into)
	if err != nil {
		return err
	}
	for {
		if !cur.exists {
			return &Error{Code: ErrCodeNotFound, Key: key}
		}
		if err := precondition.check(key, cur, func(want, have string) string {
			return fmt.Sprintf("Precondition failed: ResourceVersion in precondition: %v, ResourceVersion in object meta: %v", want, have)
		}); err != nil {
			return err
		}
		if validate != nil {
			if err := validate(cur.obj); err != nil {
				return err
			}
		}
		resp, err := s.client.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(key), "=", cur.rev)).
			Then(clientv3.OpDelete(key)).
			Else(clientv3.OpGet(key)).
			Commit()
		if err != nil {
			return InterpretEtcdError(err, key)
		}
		if !resp.Succeeded {
			if cur, err = stateFromTxnElse(resp, into); err != nil {
				return err
			}
			continue
		}
		if err := copyInto(into, cur.obj); err != nil {
			return err
		}
		SetResourceVersion(into, resp.Header.Revision)
		return nil
	}
}

// Count returns how many keys lie under prefix (apiserver_storage_objects).
func (s *Store) Count(ctx context.Context, prefix string) (n int64, err error) {
	start := time.Now()
	defer func() { record("count", prefix, start, err) }()
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	resp, err := s.client.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return 0, InterpretEtcdError(err, prefix)
	}
	return resp.Count, nil
}

// CurrentRevision returns etcd's current revision, read linearizably.
func (s *Store) CurrentRevision(ctx context.Context) (int64, error) {
	return CurrentRevision(ctx, s.client)
}

// CurrentRevision returns etcd's current revision, read linearizably (a quorum read of a
// single key, whose header carries the store revision).
func CurrentRevision(ctx context.Context, client *clientv3.Client) (int64, error) {
	resp, err := client.Get(ctx, Prefix, clientv3.WithCountOnly())
	if err != nil {
		return 0, InterpretEtcdError(err, "")
	}
	return resp.Header.Revision, nil
}

// leaseOpts returns the put options attaching a lease of at least ttl, reusing a lease
// granted within the last 5% of ttl (at most a minute) as upstream does, so a stream of
// Events does not create one etcd lease each.
func (s *Store) leaseOpts(ctx context.Context, ttl time.Duration) ([]clientv3.OpOption, error) {
	if ttl <= 0 {
		return nil, nil
	}
	reuse := ttl / 20
	if reuse > time.Minute {
		reuse = time.Minute
	}
	s.leaseMu.Lock()
	defer s.leaseMu.Unlock()
	if s.leaseID != 0 && s.leaseTTL == ttl && time.Since(s.leaseGrant) < reuse {
		return []clientv3.OpOption{clientv3.WithLease(s.leaseID)}, nil
	}
	secs := int64((ttl + reuse + time.Second - 1) / time.Second)
	resp, err := s.client.Grant(ctx, secs)
	if err != nil {
		return nil, err
	}
	s.leaseID, s.leaseTTL, s.leaseGrant = resp.ID, ttl, time.Now()
	return []clientv3.OpOption{clientv3.WithLease(resp.ID)}, nil
}

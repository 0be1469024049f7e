package watchcache

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"sort"
	"strings"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"kube5/apiserver/internal/storage"
	"kube5/proto/fields"
	"kube5/proto/labels"
)

// ListOptions select what List returns.
type ListOptions struct {
	// Prefix restricts the list to keys under it (a namespace's keys); "" is the whole
	// cache. It must lie inside the cache's prefix.
	Prefix string
	// Label and Field filter the objects; nil selects everything.
	Label labels.Selector
	Field fields.Selector
	// Limit caps the number of objects returned (0: no cap); when more match, List
	// returns a continue token.
	Limit int64
	// Continue is a token from a previous page. The list then continues at the first
	// page's resourceVersion (the rv argument is ignored), read from etcd so that every
	// page shows the same snapshot; Gone once etcd compacted that revision, as upstream.
	Continue string
}

// List returns the matching objects sorted by key, the revision they reflect, and a
// continue token when Limit cut the result short. rv "0" serves the cache as it is; ""
// is a consistent read (the cache first catches up with etcd's current revision); N
// serves a state no older than N. The entries are shared: read only.
func (c *Cache) List(ctx context.Context, rv string, opts ListOptions) ([]*Entry, int64, string, error) {
	prefix := opts.Prefix
	if prefix == "" {
		prefix = c.prefix
	}
	if !strings.HasPrefix(prefix, c.prefix) {
		return nil, 0, "", storage.NewError(storage.ErrCodeBadRequest, prefix, 0, "list outside %s", c.prefix)
	}
	label, field := opts.Label, opts.Field
	if label != nil && label.Empty() {
		label = nil
	}
	if field != nil && field.Empty() {
		field = nil
	}
	if opts.Continue != "" {
		return c.listContinue(ctx, prefix, label, field, opts.Limit, opts.Continue)
	}
	if err := c.waitFor(ctx, rv); err != nil {
		return nil, 0, "", err
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	out, more := c.selectLocked(prefix, "", label, field, opts.Limit)
	var token string
	if more {
		token = c.encodeContinue(c.rev, out[len(out)-1].Key)
	}
	return out, c.rev, token, nil
}

// Get returns the object at key, with the same resourceVersion rules as List; NotFound
// when absent. The entry is shared: read only.
func (c *Cache) Get(ctx context.Context, key, rv string) (*Entry, error) {
	if err := c.waitFor(ctx, rv); err != nil {
		return nil, err
	}
	c.mu.RLock()
	e, rev := c.store[key], c.rev
	c.mu.RUnlock()
	if e == nil {
		return nil, &storage.Error{Code: storage.ErrCodeNotFound, Key: key, ResourceVersion: rev}
	}
	return e, nil
}

// selectLocked returns the entries under prefix (or at key) matching the selectors, in
// key order, at most limit of them (0: all) and whether more match. mu must be held.
func (c *Cache) selectLocked(prefix, key string, label labels.Selector, field fields.Selector, limit int64) ([]*Entry, bool) {
	match := func(e *Entry) bool {
		return (label == nil || label.Matches(e.Labels)) && (field == nil || field.Matches(e.Fields))
	}
	if key != "" {
		if e := c.store[key]; e != nil && match(e) {
			return []*Entry{e}, false
		}
		return nil, false
	}
	var out []*Entry
	// add reports false once the result is full and one more match proved there is more.
	more := false
	add := func(e *Entry) bool {
		if !match(e) {
			return true
		}
		if limit > 0 && int64(len(out)) == limit {
			more = true
			return false
		}
		out = append(out, e)
		return true
	}
	if f := c.opts.IndexField; f != "" && field != nil {
		if v, ok := field.RequiresExactMatch(f); ok {
			cands := make([]*Entry, 0, len(c.index[v]))
			for k, e := range c.index[v] {
				if strings.HasPrefix(k, prefix) {
					cands = append(cands, e)
				}
			}
			sort.Slice(cands, func(i, j int) bool { return cands[i].Key < cands[j].Key })
			for _, e := range cands {
				if !add(e) {
					break
				}
			}
			return out, more
		}
	}
	keys := c.sortedKeysLocked()
	for i := sort.SearchStrings(keys, prefix); i < len(keys) && strings.HasPrefix(keys[i], prefix); i++ {
		if !add(c.store[keys[i]]) {
			break
		}
	}
	return out, more
}

// continueToken is upstream's format: base64url of {"v":"meta.k8s.io/v1","rv":N,
// "start":"<key after the last one returned, relative to the resource prefix>"}.
type continueToken struct {
	APIVersion      string `json:"v"`
	ResourceVersion int64  `json:"rv"`
	StartKey        string `json:"start"`
}

func (c *Cache) encodeContinue(rev int64, lastKey string) string {
	b, _ := json.Marshal(continueToken{
		APIVersion:      "meta.k8s.io/v1",
		ResourceVersion: rev,
		StartKey:        strings.TrimPrefix(lastKey, c.prefix) + "\x00",
	})
	return base64.RawURLEncoding.EncodeToString(b)
}

func (c *Cache) decodeContinue(token string) (int64, string, error) {
	bad := func() error {
		return storage.NewError(storage.ErrCodeBadRequest, "", 0, "continue key is not valid")
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return 0, "", bad()
	}
	var t continueToken
	if err := json.Unmarshal(b, &t); err != nil || t.APIVersion != "meta.k8s.io/v1" || t.ResourceVersion <= 0 || t.StartKey == "" {
		return 0, "", bad()
	}
	return t.ResourceVersion, c.prefix + t.StartKey, nil
}

// listContinue serves a page after the first from etcd at the first page's revision.
func (c *Cache) listContinue(ctx context.Context, prefix string, label labels.Selector, field fields.Selector,
	limit int64, token string) ([]*Entry, int64, string, error) {
	rev, start, err := c.decodeContinue(token)
	if err != nil {
		return nil, 0, "", err
	}
	if !strings.HasPrefix(start, prefix) {
		return nil, 0, "", storage.NewError(storage.ErrCodeBadRequest, "", 0, "continue key is not valid: it does not belong to this list")
	}
	end := clientv3.GetPrefixRangeEnd(prefix)
	page := int64(1000)
	if limit > 0 && limit+1 < page {
		page = limit + 1
	}
	var out []*Entry
	more := false
	key := start
	for !more {
		resp, err := c.client.Get(ctx, key, clientv3.WithRange(end), clientv3.WithRev(rev), clientv3.WithLimit(page))
		if err != nil {
			if errors.Is(err, rpctypes.ErrCompacted) {
				return nil, 0, "", storage.NewError(storage.ErrCodeGone, prefix, rev,
					"The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.")
			}
			return nil, 0, "", storage.InterpretEtcdError(err, prefix)
		}
		for _, kv := range resp.Kvs {
			e, err := c.decode(kv)
			if err != nil {
				return nil, 0, "", err
			}
			if (label != nil && !label.Matches(e.Labels)) || (field != nil && !field.Matches(e.Fields)) {
				continue
			}
			if limit > 0 && int64(len(out)) == limit {
				more = true
				break
			}
			out = append(out, e)
		}
		if !resp.More || len(resp.Kvs) == 0 {
			break
		}
		key = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
	var next string
	if more {
		next = c.encodeContinue(rev, out[len(out)-1].Key)
	}
	return out, rev, next, nil
}

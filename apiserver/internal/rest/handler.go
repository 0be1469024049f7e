// Package rest serves the Kubernetes-shaped REST API (design.md §2): upstream paths, JSON
// bodies, `?watch=true` streams and Status errors, all driven by the resource table. It
// shares the storage with the gRPC service; only encoding differs.
package rest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"kube5/apiserver/internal/metrics"
	"kube5/apiserver/internal/registry"
	"kube5/apiserver/internal/registry/poddisruptionbudget"
	metav1 "kube5/proto/api/meta/v1"
	policyv1 "kube5/proto/api/policy/v1"
	rpcv1 "kube5/proto/api/rpc/v1"
	"kube5/proto/apierrors"
	"kube5/proto/codec"
	"kube5/proto/scheme"
)

// MaxRequestBodyBytes is upstream's limit on a request body (3 MiB).
const MaxRequestBodyBytes = 3 << 20

// Handler serves /api and /apis.
type Handler struct {
	table *registry.Table
}

// New returns the REST handler of table.
func New(table *registry.Table) *Handler {
	return &Handler{table: table}
}

// statusWriter remembers the code for metrics.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Hijack lets pods/exec, pods/attach and pods/portforward hand the client's connection to the kubelet's stream after a
// 101 (httputil.ReverseProxy hijacks the writer it is given).
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, fmt.Errorf("the connection cannot be hijacked")
	}
	if w.code == 0 {
		w.code = http.StatusSwitchingProtocols
	}
	return hj.Hijack()
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (h *Handler) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if h.serveDiscovery(rw, r) {
		return
	}
	q := r.URL.Query()
	ri, ok := parsePath(h.table, r.Method, r.URL.Path, isTrue(q.Get("watch")))
	if !ok {
		writeError(rw, apierrors.NewNotFoundMessage("the server could not find the requested resource"))
		return
	}
	w := &statusWriter{ResponseWriter: rw}
	defer func() {
		metrics.Request{Verb: ri.metricVerb(), Group: ri.Group, Version: ri.Version, Resource: ri.Resource,
			Subresource: ri.Subresource, Scope: ri.scope(), Component: "apiserver"}.Observe(w.code, start)
	}()
	if ri.Namespace == "" && ri.Entry.Namespaced && ri.Name != "" && ri.Verb != "create" {
		writeError(w, apierrors.NewBadRequest("a namespace is required: use /namespaces/{namespace}/"+ri.Resource+"/"+ri.Name))
		return
	}
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, MaxRequestBodyBytes)
	}
	var err error
	switch ri.Verb {
	case "get":
		err = h.get(w, r, ri)
	case "list":
		err = h.list(w, r, ri)
	case "watch":
		err = h.watch(w, r, ri)
	case "create":
		err = h.create(w, r, ri)
	case "update":
		err = h.update(w, r, ri)
	case "patch":
		err = h.patch(w, r, ri)
	case "delete":
		err = h.delete(w, r, ri)
	case "deletecollection":
		err = h.deleteCollection(w, r, ri)
	default:
		err = apierrors.NewMethodNotSupported(apierrors.GroupResource{Group: ri.Group, Resource: ri.Resource}, r.Method)
	}
	if err != nil {
		writeError(w, err)
	}
}

func isTrue(s string) bool { return s == "true" || s == "1" }

func (h *Handler) get(w http.ResponseWriter, r *http.Request, ri requestInfo) error {
	ctx := r.Context()
	switch ri.Subresource {
	case "", "status":
		if ri.Subresource == "status" && !ri.Entry.HasSubresource("status") {
			return notFoundSub(ri)
		}
		obj, err := ri.Entry.Storage.Get(ctx, ri.Namespace, ri.Name)
		if err != nil {
			return err
		}
		return writeObject(w, http.StatusOK, obj)
	case "log":
		if ri.Resource != "pods" || ri.Group != "" {
			return notFoundSub(ri)
		}
		return h.podLogs(w, r, ri)
	case "exec":
		// Upstream accepts GET and POST for the exec upgrade.
		if ri.Resource != "pods" || ri.Group != "" {
			return notFoundSub(ri)
		}
		return h.podExec(w, r, ri)
	case "attach":
		if ri.Resource != "pods" || ri.Group != "" {
			return notFoundSub(ri)
		}
		return h.podAttach(w, r, ri)
	case "portforward":
		if ri.Resource != "pods" || ri.Group != "" {
			return notFoundSub(ri)
		}
		return h.podPortForward(w, r, ri)
	case "scale":
		sc, ok := ri.Entry.Storage.(registry.Scaler)
		if !ok || !ri.Entry.HasSubresource("scale") {
			return notFoundSub(ri)
		}
		obj, err := sc.GetScale(ctx, ri.Namespace, ri.Name)
		if err != nil {
			return err
		}
		return writeObject(w, http.StatusOK, obj)
	}
	return notFoundSub(ri)
}

func notFoundSub(ri requestInfo) error {
	return apierrors.NewNotFoundMessage(fmt.Sprintf("the server could not find the requested resource (%s %s/%s)", ri.Verb, ri.Resource, ri.Subresource))
}

// listOptions reads the query parameters shared by list and watch.
func listOptions(r *http.Request) (*rpcv1.ListOptions, error) {
	q := r.URL.Query()
	o := &rpcv1.ListOptions{
		LabelSelector:       q.Get("labelSelector"),
		FieldSelector:       q.Get("fieldSelector"),
		ResourceVersion:     q.Get("resourceVersion"),
		Continue:            q.Get("continue"),
		AllowWatchBookmarks: isTrue(q.Get("allowWatchBookmarks")),
	}
	for name, dst := range map[string]*int64{"limit": &o.Limit, "timeoutSeconds": &o.TimeoutSeconds} {
		if v := q.Get(name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid %s %q: want a non-negative integer", name, v))
			}
			*dst = n
		}
	}
	return o, nil
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request, ri requestInfo) error {
	opts, err := listOptions(r)
	if err != nil {
		return err
	}
	res, err := ri.Entry.Storage.List(r.Context(), ri.Namespace, opts)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(encodeList(ri.Entry.Resource, res))
	return err
}

// readObject decodes a request body into a new object of the resource's type (or of want
// when not nil), strictly: unknown fields and a kind that does not belong to the path are
// errors that name what is wrong.
func readObject(r *http.Request, res *scheme.Resource, into scheme.Object) (scheme.Object, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, apierrors.NewRequestEntityTooLargeError(fmt.Sprintf("limit is %d bytes", MaxRequestBodyBytes))
		}
		return nil, apierrors.NewBadRequest("reading the request body: " + err.Error())
	}
	if len(body) == 0 {
		return nil, apierrors.NewBadRequest("the request body is empty: send a " + res.Kind + " object as JSON or YAML")
	}
	if into == nil {
		into = res.New()
	}
	apiVersion, kind, err := codec.DecodeObject(body, into)
	if err != nil {
		return nil, apierrors.NewBadRequest(decodeMessage(err))
	}
	if kind != "" && kind != res.Kind {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the kind in the data (%s) does not match the expected kind (%s) for %s", kind, res.Kind, res.GroupResource()))
	}
	if apiVersion != "" && apiVersion != res.GroupVersion() {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the API version in the data (%s) does not match the expected API version (%s)", apiVersion, res.GroupVersion()))
	}
	return into, nil
}

// decodeMessage words a decoding error as upstream's strict decoding does.
func decodeMessage(err error) string {
	var fe codec.FieldErrors
	if errors.As(err, &fe) {
		return "strict decoding error: " + err.Error()
	}
	return "the body is not a valid object: " + err.Error()
}

func dryRun(r *http.Request) bool { return r.URL.Query().Get("dryRun") == "All" }

func (h *Handler) create(w http.ResponseWriter, r *http.Request, ri requestInfo) error {
	ctx := r.Context()
	switch {
	case ri.Subresource == "binding" || (ri.Resource == "bindings" && ri.Name == ""):
		return h.bind(w, r, ri)
	case ri.Subresource == "eviction" && ri.Resource == "pods" && ri.Group == "":
		return h.evict(w, r, ri)
	case ri.Subresource == "exec" && ri.Resource == "pods" && ri.Group == "":
		return h.podExec(w, r, ri)
	case ri.Subresource == "portforward" && ri.Resource == "pods" && ri.Group == "":
		return h.podPortForward(w, r, ri)
	case ri.Subresource == "attach" && ri.Resource == "pods" && ri.Group == "":
		return h.podAttach(w, r, ri)
	case ri.Subresource != "" || ri.Name != "":
		return apierrors.NewMethodNotSupported(apierrors.GroupResource{Group: ri.Group, Resource: ri.Resource}, "POST")
	}
	obj, err := readObject(r, ri.Entry.Resource, nil)
	if err != nil {
		return err
	}
	out, err := ri.Entry.Storage.Create(ctx, ri.Namespace, obj, dryRun(r))
	if err != nil {
		return err
	}
	return writeObject(w, http.StatusCreated, out)
}

// bind serves POST pods/{name}/binding and POST namespaces/{ns}/bindings.
func (h *Handler) bind(w http.ResponseWriter, r *http.Request, ri requestInfo) error {
	pods, ok := h.table.Lookup("", "pods")
	if !ok {
		return apierrors.NewNotFoundMessage("pods are not served")
	}
	binder, ok := pods.Storage.(registry.Binder)
	if !ok {
		return notFoundSub(ri)
	}
	bindings, _ := scheme.ByGroupResource("", "bindings")
	obj, err := readObject(r, bindings, nil)
	if err != nil {
		return err
	}
	name := ri.Name
	if ri.Resource == "bindings" || name == "" {
		name = obj.GetMetadata().GetName()
	}
	if err := binder.Bind(r.Context(), ri.Namespace, name, obj, dryRun(r)); err != nil {
		return err
	}
	return writeStatus(w, http.StatusCreated, &metav1.Status{Kind: "Status", ApiVersion: "v1", Status: "Success", Code: http.StatusCreated})
}

// evict serves POST pods/{name}/eviction (policy/v1 Eviction body): the pod is deleted
// when its disruption budget allows it, else 429 (see poddisruptionbudget.Evict).
func (h *Handler) evict(w http.ResponseWriter, r *http.Request, ri requestInfo) error {
	res, _ := scheme.ByKind("policy/v1", "Eviction")
	obj, err := readObject(r, res, nil)
	if err != nil {
		return err
	}
	if n := obj.GetMetadata().GetName(); n != "" && n != ri.Name {
		return apierrors.NewBadRequest(fmt.Sprintf("name in URL does not match name in Eviction object: %s != %s", ri.Name, n))
	}
	if err := poddisruptionbudget.Evict(r.Context(), h.table, ri.Namespace, ri.Name, obj.(*policyv1.Eviction), dryRun(r)); err != nil {
		return err
	}
	return writeStatus(w, http.StatusCreated, &metav1.Status{Kind: "Status", ApiVersion: "v1", Status: "Success", Code: http.StatusCreated})
}

func (h *Handler) update(w http.ResponseWriter, r *http.Request, ri requestInfo) error {
	ctx := r.Context()
	switch ri.Subresource {
	case "scale":
		sc, ok := ri.Entry.Storage.(registry.Scaler)
		if !ok || !ri.Entry.HasSubresource("scale") {
			return notFoundSub(ri)
		}
		scaleRes, _ := scheme.ByKind("autoscaling/v1", "Scale")
		in, err := readObject(r, scaleRes, nil)
		if err != nil {
			return err
		}
		out, err := sc.UpdateScale(ctx, ri.Namespace, ri.Name, in, dryRun(r))
		if err != nil {
			return err
		}
		return writeObject(w, http.StatusOK, out)
	case "", "status":
		if ri.Subresource == "status" && !ri.Entry.HasSubresource("status") {
			return notFoundSub(ri)
		}
	default:
		return notFoundSub(ri)
	}
	obj, err := readObject(r, ri.Entry.Resource, nil)
	if err != nil {
		return err
	}
	out, err := ri.Entry.Storage.Update(ctx, ri.Namespace, ri.Name, ri.Subresource, obj, dryRun(r))
	if err != nil {
		return err
	}
	return writeObject(w, http.StatusOK, out)
}

// deleteOptions reads DeleteOptions from the body (if any) and the query.
func deleteOptions(r *http.Request) (*metav1.DeleteOptions, error) {
	opts := &metav1.DeleteOptions{}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, apierrors.NewBadRequest("reading the request body: " + err.Error())
	}
	if len(body) > 0 {
		if err := codec.UnmarshalJSON(body, opts); err != nil {
			return nil, apierrors.NewBadRequest("invalid DeleteOptions: " + err.Error())
		}
	}
	q := r.URL.Query()
	if v := q.Get("gracePeriodSeconds"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid gracePeriodSeconds %q: want an integer", v))
		}
		opts.GracePeriodSeconds = &n
	}
	if v := q.Get("propagationPolicy"); v != "" {
		opts.PropagationPolicy = &v
	}
	if p := opts.PropagationPolicy; p != nil && *p != "Orphan" && *p != "Background" && *p != "Foreground" {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid propagationPolicy %q: supported values: \"Orphan\", \"Background\", \"Foreground\"", *p))
	}
	return opts, nil
}

func (h *Handler) delete(w http.ResponseWriter, r *http.Request, ri requestInfo) error {
	if ri.Subresource != "" {
		return notFoundSub(ri)
	}
	opts, err := deleteOptions(r)
	if err != nil {
		return err
	}
	obj, gone, err := ri.Entry.Storage.Delete(r.Context(), ri.Namespace, ri.Name, opts)
	if err != nil {
		return err
	}
	// Upstream returns the object while it lingers (graceful deletion, finalizers) and
	// for pods; otherwise a Success Status naming what was deleted.
	if !gone || ri.Resource == "pods" {
		return writeObject(w, http.StatusOK, obj)
	}
	m := obj.GetMetadata()
	return writeStatus(w, http.StatusOK, &metav1.Status{Kind: "Status", ApiVersion: "v1", Status: "Success",
		Details: &metav1.StatusDetails{Name: m.GetName(), Group: ri.Group, Kind: ri.Resource, Uid: m.GetUid()}})
}

// deleteCollection deletes every object a list with the same selectors returns.
func (h *Handler) deleteCollection(w http.ResponseWriter, r *http.Request, ri requestInfo) error {
	lopts, err := listOptions(r)
	if err != nil {
		return err
	}
	dopts, err := deleteOptions(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	res, err := ri.Entry.Storage.List(ctx, ri.Namespace, lopts)
	if err != nil {
		return err
	}
	for _, it := range res.Items {
		m := it.Object().GetMetadata()
		if _, _, err := ri.Entry.Storage.Delete(ctx, m.GetNamespace(), m.GetName(), dopts); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	return writeStatus(w, http.StatusOK, &metav1.Status{Kind: "Status", ApiVersion: "v1", Status: "Success"})
}

package rest

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"

	"kube5/apiserver/internal/registry"
	"kube5/proto/apierrors"
	"kube5/proto/codec"
	"kube5/proto/scheme"
)

// patch applies a JSON merge patch (RFC 7386) as a read-modify-write that retries on
// conflict, so concurrent patches of different fields both land. Strategic merge patches
// are applied with merge-patch semantics (lists are replaced, not merged by key); JSON
// patch (RFC 6902) is not served yet and answers 415 naming the types that are.
func (h *Handler) patch(w http.ResponseWriter, r *http.Request, ri requestInfo) error {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/merge-patch+json", "application/strategic-merge-patch+json":
	default:
		return apierrors.NewUnsupportedMediaType([]string{"application/merge-patch+json", "application/strategic-merge-patch+json"})
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return apierrors.NewRequestEntityTooLargeError(fmt.Sprintf("limit is %d bytes", MaxRequestBodyBytes))
	}
	var p any
	if err := json.Unmarshal(body, &p); err != nil {
		return apierrors.NewBadRequest("the patch is not valid JSON: " + err.Error())
	}
	patchObj, ok := p.(map[string]any)
	if !ok {
		return apierrors.NewBadRequest("a merge patch must be a JSON object")
	}
	_, pinned := nestedString(patchObj, "metadata", "resourceVersion")
	ctx := r.Context()
	var get func() (scheme.Object, error)
	var put func(scheme.Object) (scheme.Object, error)
	res := ri.Entry.Resource
	switch ri.Subresource {
	case "", "status":
		if ri.Subresource == "status" && !ri.Entry.HasSubresource("status") {
			return notFoundSub(ri)
		}
		get = func() (scheme.Object, error) { return ri.Entry.Storage.Get(ctx, ri.Namespace, ri.Name) }
		put = func(o scheme.Object) (scheme.Object, error) {
			return ri.Entry.Storage.Update(ctx, ri.Namespace, ri.Name, ri.Subresource, o, dryRun(r))
		}
	case "scale":
		sc, ok := ri.Entry.Storage.(registry.Scaler)
		if !ok || !ri.Entry.HasSubresource("scale") {
			return notFoundSub(ri)
		}
		res, _ = scheme.ByKind("autoscaling/v1", "Scale")
		get = func() (scheme.Object, error) { return sc.GetScale(ctx, ri.Namespace, ri.Name) }
		put = func(o scheme.Object) (scheme.Object, error) {
			return sc.UpdateScale(ctx, ri.Namespace, ri.Name, o, dryRun(r))
		}
	default:
		return notFoundSub(ri)
	}
	for {
		cur, err := get()
		if err != nil {
			return err
		}
		curJSON, err := codec.EncodeObject(cur)
		if err != nil {
			return apierrors.NewInternalError(err)
		}
		var doc any
		if err := json.Unmarshal(curJSON, &doc); err != nil {
			return apierrors.NewInternalError(err)
		}
		merged, err := json.Marshal(mergePatch(doc, patchObj))
		if err != nil {
			return apierrors.NewInternalError(err)
		}
		next := res.New()
		if _, _, err := codec.DecodeObject(merged, next); err != nil {
			return apierrors.NewBadRequest(decodeMessage(err))
		}
		if !pinned { // the patch applies to the state it was merged into
			next.GetMetadata().ResourceVersion = cur.GetMetadata().GetResourceVersion()
		}
		out, err := put(next)
		// A conflict means another writer got in between: merge into the new state, as
		// upstream's patch (applied inside GuaranteedUpdate) does, however many writers
		// contend; only a patch that pins a resourceVersion reports the conflict.
		if apierrors.IsConflict(err) && !pinned && ctx.Err() == nil {
			continue
		}
		if err != nil {
			return err
		}
		return writeObject(w, http.StatusOK, out)
	}
}

// mergePatch is RFC 7386: objects merge recursively, null deletes, anything else replaces.
func mergePatch(doc any, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	d, ok := doc.(map[string]any)
	if !ok {
		d = map[string]any{}
	}
	for k, v := range p {
		if v == nil {
			delete(d, k)
			continue
		}
		d[k] = mergePatch(d[k], v)
	}
	return d
}

func nestedString(m map[string]any, keys ...string) (string, bool) {
	var cur any = m
	for _, k := range keys {
		mm, ok := cur.(map[string]any)
		if !ok {
			return "", false
		}
		cur, ok = mm[k]
		if !ok {
			return "", false
		}
	}
	s, ok := cur.(string)
	return s, ok && s != ""
}

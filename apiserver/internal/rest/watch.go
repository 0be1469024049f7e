package rest

import (
	"bytes"
	"context"
	"net/http"
	"time"

	"kube5/apiserver/internal/registry"
	"kube5/proto/codec"
)

// watch streams events as upstream does: one JSON object per line,
// {"type":"ADDED","object":{...}}, flushed as soon as no further event is waiting.
func (h *Handler) watch(w http.ResponseWriter, r *http.Request, ri requestInfo) error {
	opts, err := listOptions(r)
	if err != nil {
		return err
	}
	if ri.Name != "" { // GET .../pods/x?watch=true watches one object
		sel := "metadata.name=" + ri.Name
		if opts.FieldSelector != "" {
			sel += "," + opts.FieldSelector
		}
		opts.FieldSelector = sel
	}
	ctx := r.Context()
	if opts.TimeoutSeconds > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(opts.TimeoutSeconds)*time.Second)
		defer cancel()
	}
	wch, err := ri.Entry.Storage.Watch(ctx, ri.Namespace, opts)
	if err != nil {
		return err
	}
	defer wch.Stop()
	flusher, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache, private")
	w.WriteHeader(http.StatusOK)
	if flusher != nil {
		flusher.Flush()
	}
	res := ri.Entry.Resource
	var buf bytes.Buffer
	for {
		ev, ok := wch.Next(ctx)
		if !ok {
			return nil
		}
		{
			buf.Reset()
			buf.WriteString(`{"type":"` + ev.Type + `","object":`)
			switch ev.Type {
			case registry.Bookmark:
				buf.WriteString(`{"kind":"` + res.Kind + `","apiVersion":"` + res.GroupVersion() + `","metadata":{"resourceVersion":"` + ev.ResourceVersion + `"}}`)
			case registry.Error:
				b, _ := codec.MarshalJSON(ev.Status)
				buf.Write(b)
			default:
				buf.Write(objectJSON(ev.Item))
			}
			buf.WriteString("}\n")
			if _, err := w.Write(buf.Bytes()); err != nil {
				return nil // the client went away
			}
			if wch.Pending() == 0 && flusher != nil {
				flusher.Flush()
			}
		}
	}
}

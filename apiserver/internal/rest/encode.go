package rest

import (
	"bytes"
	"encoding/json"
	"net/http"

	"k8s.io/klog/v2"

	"kube5/apiserver/internal/registry"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors"
	"kube5/proto/codec"
	"kube5/proto/scheme"
)

// objectJSON is an object's JSON with kind and apiVersion, as a GET or a watch event
// carries it. It is computed once per stored revision and shared by all clients.
func objectJSON(it registry.Item) []byte {
	return it.Memo(func() []byte {
		b, err := codec.EncodeObject(it.Object())
		if err != nil {
			klog.ErrorS(err, "encoding object", "name", it.Object().GetMetadata().GetName())
			return []byte("{}")
		}
		return b
	})
}

// itemJSON is the same object as a list item: upstream's list items carry no kind and
// apiVersion. EncodeObject writes those two first, so the item is the object's JSON with
// that prefix cut off — no second encoding.
func itemJSON(res *scheme.Resource, it registry.Item) []byte {
	full := objectJSON(it)
	prefix := `{"kind":"` + res.Kind + `","apiVersion":"` + res.GroupVersion() + `"`
	if !bytes.HasPrefix(full, []byte(prefix)) {
		return full
	}
	rest := full[len(prefix):]
	if len(rest) > 0 && rest[0] == ',' {
		rest = rest[1:]
	}
	out := make([]byte, 0, len(rest)+1)
	out = append(out, '{')
	return append(out, rest...)
}

// encodeList writes upstream's <Kind>List envelope around the items.
func encodeList(res *scheme.Resource, l *registry.ListResult) []byte {
	var b bytes.Buffer
	b.WriteString(`{"kind":"` + res.Kind + `List","apiVersion":"` + res.GroupVersion() + `","metadata":{`)
	// Both are omitted when empty, as upstream's ListMeta (computed lists such as
	// componentstatuses have no resourceVersion).
	if l.ResourceVersion != "" {
		b.WriteString(`"resourceVersion":`)
		b.Write(quote(l.ResourceVersion))
	}
	if l.Continue != "" {
		if l.ResourceVersion != "" {
			b.WriteByte(',')
		}
		b.WriteString(`"continue":`)
		b.Write(quote(l.Continue))
	}
	b.WriteString(`},"items":[`)
	for i, it := range l.Items {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(itemJSON(res, it))
	}
	b.WriteString("]}\n")
	return b.Bytes()
}

func quote(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}

func writeObject(w http.ResponseWriter, code int, obj scheme.Object) error {
	b, err := codec.EncodeObject(obj)
	if err != nil {
		return apierrors.NewInternalError(err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, err = w.Write(append(b, '\n'))
	return err
}

func writeStatus(w http.ResponseWriter, code int, st *metav1.Status) error {
	if st.Metadata == nil {
		st.Metadata = &metav1.ListMeta{}
	}
	b, err := codec.MarshalJSON(st)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, err = w.Write(append(b, '\n'))
	return err
}

// writeError answers with the Status of err (InternalError for unknown errors).
func writeError(w http.ResponseWriter, err error) {
	st := apierrors.StatusFor(err)
	code := int(st.GetCode())
	if code == 0 {
		code = http.StatusInternalServerError
	}
	if code >= 500 {
		klog.V(2).InfoS("request failed", "code", code, "err", err)
	}
	_ = writeStatus(w, code, st)
}

package describe

import (
	"encoding/base64"
	"fmt"
	"sort"
	"strings"

	u "kube5/kubectl/internal/unstructured"
)

func describeConfigMap(w writer, cm map[string]any) {
	w.meta(cm, true)
	w.labelsAnnotations(cm)
	w.line(0, "")
	w.line(0, "Data")
	w.line(0, "====")
	data := u.StringMap(cm, "data")
	for _, k := range sortedStrings(data) {
		w.line(0, "%s:", k)
		w.line(0, "----")
		w.line(0, "%s", data[k])
		w.line(0, "")
	}
	w.line(0, "")
	w.line(0, "BinaryData")
	w.line(0, "====")
	for _, k := range sortedKeys(u.Map(cm, "binaryData")) {
		b, _ := base64.StdEncoding.DecodeString(u.String(cm, "binaryData", k))
		w.line(0, "%s: %d bytes", k, len(b))
	}
	w.line(0, "")
}

// describeSecret shows the sizes of the values, never the values, as upstream.
func describeSecret(w writer, sec map[string]any) {
	w.meta(sec, true)
	w.labelsAnnotations(sec)
	w.line(0, "")
	w.line(0, "Type:\t%s", u.String(sec, "type"))
	w.line(0, "")
	w.line(0, "Data")
	w.line(0, "====")
	for _, k := range sortedKeys(u.Map(sec, "data")) {
		b, _ := base64.StdEncoding.DecodeString(u.String(sec, "data", k))
		w.line(0, "%s:\t%d bytes", k, len(b))
	}
}

func describeServiceAccount(w writer, sa map[string]any) {
	w.meta(sa, true)
	w.labelsAnnotations(sa)
	names := func(field string) string {
		var out []string
		for _, r := range u.Maps(sa, field) {
			out = append(out, u.String(r, "name"))
		}
		sort.Strings(out)
		return orNone(strings.Join(out, "\n\t"))
	}
	w.line(0, "Image pull secrets:\t%s", names("imagePullSecrets"))
	w.line(0, "Mountable secrets:\t%s", names("secrets"))
	w.line(0, "Tokens:\t<none>")
}

func describeEndpoints(w writer, ep map[string]any) {
	w.meta(ep, true)
	w.labelsAnnotations(ep)
	w.line(0, "Subsets:")
	for _, ss := range u.Maps(ep, "subsets") {
		var ready, notReady []string
		for _, a := range u.Maps(ss, "addresses") {
			ready = append(ready, u.String(a, "ip"))
		}
		for _, a := range u.Maps(ss, "notReadyAddresses") {
			notReady = append(notReady, u.String(a, "ip"))
		}
		w.line(1, "Addresses:\t%s", orNone(strings.Join(ready, ",")))
		w.line(1, "NotReadyAddresses:\t%s", orNone(strings.Join(notReady, ",")))
		w.line(1, "Ports:")
		w.line(2, "Name\tPort\tProtocol")
		w.line(2, "----\t----\t--------")
		for _, p := range u.Maps(ss, "ports") {
			name := u.String(p, "name")
			if name == "" {
				name = "<unset>"
			}
			w.line(2, "%s\t%s\t%s", name, fmt.Sprint(u.Int(p, "port")), u.String(p, "protocol"))
		}
		w.line(0, "")
	}
}

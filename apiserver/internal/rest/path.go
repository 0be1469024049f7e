package rest

import (
	"net/http"
	"strings"

	"kube5/apiserver/internal/registry"
)

// requestInfo is what a REST path and method say, as upstream's RequestInfo.
type requestInfo struct {
	Verb        string // get list watch create update patch delete deletecollection
	Group       string
	Version     string
	Resource    string
	Namespace   string
	Name        string
	Subresource string
	Entry       *registry.Entry
}

// parsePath resolves /api/v1/... and /apis/{group}/{version}/... against the table.
// It returns ok=false when the path names no resource (the caller answers 404).
func parsePath(t *registry.Table, method, path string, watchParam bool) (requestInfo, bool) {
	var ri requestInfo
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(parts) >= 2 && parts[0] == "api":
		ri.Version, parts = parts[1], parts[2:]
	case len(parts) >= 3 && parts[0] == "apis":
		ri.Group, ri.Version, parts = parts[1], parts[2], parts[3:]
	default:
		return ri, false
	}
	legacyWatch := false
	if len(parts) > 0 && parts[0] == "watch" { // /api/v1/watch/... (deprecated, still used)
		legacyWatch, parts = true, parts[1:]
	}
	if len(parts) == 0 {
		return ri, false
	}
	// /namespaces/{ns}/{resource}/... unless the third segment is a namespace subresource.
	if parts[0] == "namespaces" && len(parts) >= 3 {
		if e, ok := t.Lookup(ri.Group, parts[2]); ok && e.Namespaced {
			ri.Namespace, parts = parts[1], parts[2:]
		}
	}
	e, ok := t.Lookup(ri.Group, parts[0])
	if !ok || e.Version != ri.Version {
		return ri, false
	}
	ri.Entry, ri.Resource = e, parts[0]
	if len(parts) > 1 {
		ri.Name = parts[1]
	}
	if len(parts) > 2 {
		ri.Subresource = parts[2]
	}
	if len(parts) > 3 {
		return ri, false
	}
	switch method {
	case http.MethodGet, http.MethodHead:
		switch {
		case legacyWatch || watchParam:
			ri.Verb = "watch"
		case ri.Name == "":
			ri.Verb = "list"
		default:
			ri.Verb = "get"
		}
	case http.MethodPost:
		ri.Verb = "create"
	case http.MethodPut:
		ri.Verb = "update"
	case http.MethodPatch:
		ri.Verb = "patch"
	case http.MethodDelete:
		if ri.Name == "" {
			ri.Verb = "deletecollection"
		} else {
			ri.Verb = "delete"
		}
	default:
		ri.Verb = strings.ToLower(method)
	}
	return ri, true
}

// metricVerb is the verb label of apiserver_request_total, as upstream (LIST, WATCH, ...).
func (ri requestInfo) metricVerb() string {
	switch ri.Verb {
	case "get":
		return "GET"
	case "list":
		return "LIST"
	case "watch":
		return "WATCH"
	case "create":
		return "POST"
	case "update":
		return "PUT"
	case "patch":
		return "PATCH"
	case "delete", "deletecollection":
		return "DELETE"
	}
	return strings.ToUpper(ri.Verb)
}

func (ri requestInfo) scope() string {
	switch {
	case ri.Name != "":
		return "resource"
	case ri.Namespace != "":
		return "namespace"
	}
	return "cluster"
}

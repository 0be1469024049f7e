package rest

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
)

// Discovery documents, in upstream's JSON shape (APIVersions, APIGroupList,
// APIResourceList), so that kubectl api-resources and client-go's discovery work.

type apiVersions struct {
	Kind                       string         `json:"kind"`
	Versions                   []string       `json:"versions"`
	ServerAddressByClientCIDRs []serverByCIDR `json:"serverAddressByClientCIDRs"`
}

type serverByCIDR struct {
	ClientCIDR    string `json:"clientCIDR"`
	ServerAddress string `json:"serverAddress"`
}

type groupVersion struct {
	GroupVersion string `json:"groupVersion"`
	Version      string `json:"version"`
}

type apiGroup struct {
	Name             string         `json:"name"`
	Versions         []groupVersion `json:"versions"`
	PreferredVersion groupVersion   `json:"preferredVersion"`
}

type apiGroupList struct {
	Kind       string     `json:"kind"`
	APIVersion string     `json:"apiVersion"`
	Groups     []apiGroup `json:"groups"`
}

type apiResource struct {
	Name         string   `json:"name"`
	SingularName string   `json:"singularName"`
	Namespaced   bool     `json:"namespaced"`
	Group        string   `json:"group,omitempty"`
	Version      string   `json:"version,omitempty"`
	Kind         string   `json:"kind"`
	Verbs        []string `json:"verbs"`
	ShortNames   []string `json:"shortNames,omitempty"`
}

type apiResourceList struct {
	Kind         string        `json:"kind"`
	APIVersion   string        `json:"apiVersion"`
	GroupVersion string        `json:"groupVersion"`
	Resources    []apiResource `json:"resources"`
}

var allVerbs = []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}

// serveDiscovery answers /api, /apis, /api/v1 and /apis/{group}/{version}; false when
// the path is none of them.
func (h *Handler) serveDiscovery(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodGet {
		return false
	}
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case path == "/api":
		writeJSON(w, apiVersions{Kind: "APIVersions", Versions: []string{"v1"},
			ServerAddressByClientCIDRs: []serverByCIDR{{ClientCIDR: "0.0.0.0/0", ServerAddress: r.Host}}})
		return true
	case path == "/apis":
		writeJSON(w, h.groups())
		return true
	case path == "/api/v1":
		writeJSON(w, h.resources("", "v1"))
		return true
	case strings.HasPrefix(path, "/apis/") && strings.Count(path, "/") == 3:
		parts := strings.Split(path, "/")
		l := h.resources(parts[2], parts[3])
		if len(l.Resources) == 0 {
			return false
		}
		writeJSON(w, l)
		return true
	}
	return false
}

func (h *Handler) groups() apiGroupList {
	seen := map[string]bool{}
	out := apiGroupList{Kind: "APIGroupList", APIVersion: "v1", Groups: []apiGroup{}}
	for _, e := range h.table.Entries() {
		if e.Group == "" || seen[e.Group] {
			continue
		}
		seen[e.Group] = true
		gv := groupVersion{GroupVersion: e.GroupVersion(), Version: e.Version}
		out.Groups = append(out.Groups, apiGroup{Name: e.Group, Versions: []groupVersion{gv}, PreferredVersion: gv})
	}
	sort.Slice(out.Groups, func(i, j int) bool { return out.Groups[i].Name < out.Groups[j].Name })
	return out
}

func (h *Handler) resources(group, version string) apiResourceList {
	gv := version
	if group != "" {
		gv = group + "/" + version
	}
	out := apiResourceList{Kind: "APIResourceList", APIVersion: "v1", GroupVersion: gv, Resources: []apiResource{}}
	for _, e := range h.table.Entries() {
		if e.Group != group || e.Version != version {
			continue
		}
		verbs := allVerbs
		switch e.Resource.Resource {
		case "componentstatuses":
			verbs = []string{"get", "list"}
		case "bindings":
			verbs = []string{"create"}
		}
		out.Resources = append(out.Resources, apiResource{Name: e.Resource.Resource, SingularName: e.Singular,
			Namespaced: e.Namespaced, Kind: e.Kind, Verbs: verbs, ShortNames: e.ShortNames})
		for _, sub := range e.Subresources {
			kind, subVerbs := e.Kind, []string{"get", "patch", "update"}
			switch sub {
			case "scale":
				kind = "Scale"
				out.Resources = append(out.Resources, apiResource{Name: e.Resource.Resource + "/" + sub, Namespaced: e.Namespaced,
					Group: "autoscaling", Version: "v1", Kind: kind, Verbs: subVerbs})
				continue
			case "binding":
				kind, subVerbs = "Binding", []string{"create"}
			}
			out.Resources = append(out.Resources, apiResource{Name: e.Resource.Resource + "/" + sub, Namespaced: e.Namespaced, Kind: kind, Verbs: subVerbs})
		}
	}
	return out
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

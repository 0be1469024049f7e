package integration

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	apptesting "kube5/apiserver/app/testing"
	corev1 "kube5/proto/api/core/v1"
	"kube5/proto/client"
)

// TestHealthAndVersion: /healthz, /livez, /readyz and /version answer as upstream's.
func TestHealthAndVersion(t *testing.T) {
	ts := start(t)
	for _, p := range []string{"/healthz", "/livez", "/readyz", "/healthz/etcd"} {
		r := do(t, ts, "GET", p, nil).expect(t, http.StatusOK, p)
		if string(r.Body) != "ok" {
			t.Errorf("%s answered %q, want ok", p, r.Body)
		}
	}
	r := do(t, ts, "GET", "/readyz?verbose", nil).expect(t, http.StatusOK, "/readyz?verbose")
	for _, want := range []string{"[+]etcd ok", "[+]informer-sync ok", "readyz check passed"} {
		if !strings.Contains(string(r.Body), want) {
			t.Errorf("/readyz?verbose lacks %q:\n%s", want, r.Body)
		}
	}
	do(t, ts, "GET", "/healthz/nonexistent-check", nil).expect(t, http.StatusNotFound, "unknown check")

	var v map[string]string
	r = do(t, ts, "GET", "/version", nil).expect(t, http.StatusOK, "/version")
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("/version: %v: %s", err, r.Body)
	}
	for _, k := range []string{"major", "gitVersion", "gitCommit", "goVersion", "platform", "compiler"} {
		if _, ok := v[k]; !ok {
			t.Errorf("/version lacks %s: %v", k, v)
		}
	}
	if !strings.HasPrefix(v["gitVersion"], "v") || !strings.HasPrefix(v["goVersion"], "go") {
		t.Errorf("/version: gitVersion %q goVersion %q", v["gitVersion"], v["goVersion"])
	}
	do(t, ts, "GET", "/no/such/path", nil).expect(t, http.StatusNotFound, "unknown path")
	do(t, ts, "GET", "/api/v1/nosuchresources", nil).expectStatus(t, http.StatusNotFound, "NotFound")
	do(t, ts, "GET", "/apis/apps/v2/deployments", nil).expectStatus(t, http.StatusNotFound, "NotFound")
}

// sample is one line of the Prometheus text format.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

var labelRE = regexp.MustCompile(`(\w+)="((?:[^"\\]|\\.)*)"`)

func scrape(t *testing.T, ts *apptesting.TestServer) []sample {
	t.Helper()
	r := do(t, ts, "GET", "/metrics", nil).expect(t, http.StatusOK, "/metrics")
	var out []sample
	sc := bufio.NewScanner(bytes.NewReader(r.Body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		s := sample{labels: map[string]string{}}
		rest := line
		if i := strings.IndexByte(line, '{'); i >= 0 {
			j := strings.LastIndexByte(line, '}')
			s.name = line[:i]
			for _, m := range labelRE.FindAllStringSubmatch(line[i+1:j], -1) {
				s.labels[m[1]] = m[2]
			}
			rest = line[j+1:]
		} else {
			s.name, rest, _ = strings.Cut(line, " ")
		}
		v, err := strconv.ParseFloat(strings.Fields(rest)[0], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		s.value = v
		out = append(out, s)
	}
	return out
}

// metric sums the samples of name whose labels include want.
func metric(samples []sample, name string, want map[string]string) (float64, bool) {
	var sum float64
	found := false
	for _, s := range samples {
		if s.name != name {
			continue
		}
		ok := true
		for k, v := range want {
			ok = ok && s.labels[k] == v
		}
		if ok {
			sum += s.value
			found = true
		}
	}
	return sum, found
}

// TestMetrics: /metrics carries upstream's request, watch and etcd metrics with their
// labels, counting what was just done.
func TestMetrics(t *testing.T) {
	ts := start(t)
	ns := newNamespace(t, ts.Client, "metrics")
	ctx := ctxFor(t)
	before := scrape(t, ts)
	count := func(s []sample, labels map[string]string) float64 {
		v, _ := metric(s, "apiserver_request_total", labels)
		return v
	}
	listPods := map[string]string{"verb": "LIST", "resource": "pods", "code": "200", "component": "apiserver", "scope": "namespace", "version": "v1"}
	getMissing := map[string]string{"verb": "GET", "resource": "pods", "code": "404", "scope": "resource"}
	grpcCreate := map[string]string{"verb": "POST", "resource": "configmaps", "component": "grpc", "code": "200"}
	for range 3 {
		do(t, ts, "GET", "/api/v1/namespaces/"+ns+"/pods", nil).expect(t, http.StatusOK, "list")
	}
	do(t, ts, "GET", "/api/v1/namespaces/"+ns+"/pods/missing", nil).expect(t, http.StatusNotFound, "get")
	mustCreate(t, ts.Client.ConfigMaps(ns), newConfigMap(ns, "cm", nil))
	// The gauge is per process: watch a kind no other test of the suite watches, so that
	// the watchers of servers that other tests stopped do not count.
	watchers := func() float64 {
		v, _ := metric(scrape(t, ts), "apiserver_registered_watchers", map[string]string{"kind": "Secret", "group": "", "version": "v1"})
		return v
	}
	idle := watchers()
	w := grpcWatch(t, ts.Client.Secrets(ns), client.ListOptions{})
	eventually(t, "apiserver_registered_watchers counts the open watch", func() (bool, string) {
		v := watchers()
		return v == idle+1, strconv.FormatFloat(v, 'f', -1, 64)
	})
	w.stop()
	eventually(t, "apiserver_registered_watchers drops the closed watch", func() (bool, string) {
		v := watchers()
		return v == idle, strconv.FormatFloat(v, 'f', -1, 64)
	})

	after := scrape(t, ts)
	for _, c := range []struct {
		labels map[string]string
		want   float64
	}{{listPods, 3}, {getMissing, 1}, {grpcCreate, 1}} {
		if d := count(after, c.labels) - count(before, c.labels); d < c.want {
			t.Errorf("apiserver_request_total%v grew by %v, want at least %v", c.labels, d, c.want)
		}
	}
	if v, ok := metric(after, "apiserver_request_duration_seconds_count", map[string]string{"verb": "LIST", "resource": "pods"}); !ok || v < 3 {
		t.Errorf("apiserver_request_duration_seconds_count for LIST pods: %v %v", v, ok)
	}
	if v, ok := metric(after, "etcd_request_duration_seconds_count", map[string]string{"operation": "create", "type": "configmaps"}); !ok || v < 1 {
		t.Errorf("etcd_request_duration_seconds_count{operation=create,type=configmaps}: %v %v", v, ok)
	}
	l, err := ts.Client.ConfigMaps(ns).List(ctx, client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := metric(after, "apiserver_watch_cache_resource_version", map[string]string{"resource": "configmaps"}); !ok || v < float64(rvOf(t, l.Items[0])) {
		t.Errorf("apiserver_watch_cache_resource_version for configmaps: %v %v", v, ok)
	}
}

// TestDiscovery: /api, /apis, /api/v1 and /apis/{group}/{version} describe what is
// served, in upstream's shapes, so kubectl api-resources works.
func TestDiscovery(t *testing.T) {
	ts := start(t)
	var versions struct {
		Kind     string   `json:"kind"`
		Versions []string `json:"versions"`
	}
	getJSON(t, ts, "/api", &versions)
	if versions.Kind != "APIVersions" || !sameStrings(versions.Versions, []string{"v1"}) {
		t.Errorf("/api: %+v", versions)
	}
	type gv struct{ GroupVersion, Version string }
	var groups struct {
		Kind   string `json:"kind"`
		Groups []struct {
			Name             string `json:"name"`
			Versions         []gv   `json:"versions"`
			PreferredVersion gv     `json:"preferredVersion"`
		} `json:"groups"`
	}
	getJSON(t, ts, "/apis", &groups)
	preferred := map[string]string{}
	for _, g := range groups.Groups {
		preferred[g.Name] = g.PreferredVersion.GroupVersion
	}
	for g, v := range map[string]string{"apps": "apps/v1", "batch": "batch/v1", "coordination.k8s.io": "coordination.k8s.io/v1"} {
		if preferred[g] != v {
			t.Errorf("/apis: group %s preferred %q, want %s (%+v)", g, preferred[g], v, groups)
		}
	}
	if groups.Kind != "APIGroupList" {
		t.Errorf("/apis kind %q", groups.Kind)
	}
	type resource struct {
		Name       string   `json:"name"`
		Namespaced bool     `json:"namespaced"`
		Kind       string   `json:"kind"`
		Verbs      []string `json:"verbs"`
		ShortNames []string `json:"shortNames"`
		Group      string   `json:"group"`
		Version    string   `json:"version"`
	}
	resources := func(path, groupVersion string) map[string]resource {
		var l struct {
			Kind         string     `json:"kind"`
			GroupVersion string     `json:"groupVersion"`
			Resources    []resource `json:"resources"`
		}
		getJSON(t, ts, path, &l)
		if l.Kind != "APIResourceList" || l.GroupVersion != groupVersion {
			t.Errorf("%s: kind %q groupVersion %q", path, l.Kind, l.GroupVersion)
		}
		out := map[string]resource{}
		for _, r := range l.Resources {
			out[r.Name] = r
		}
		return out
	}
	has := func(verbs []string, want ...string) bool {
		set := map[string]bool{}
		for _, v := range verbs {
			set[v] = true
		}
		for _, w := range want {
			if !set[w] {
				return false
			}
		}
		return true
	}
	v1 := resources("/api/v1", "v1")
	for name, want := range map[string]resource{
		"pods":              {Namespaced: true, Kind: "Pod", ShortNames: []string{"po"}},
		"services":          {Namespaced: true, Kind: "Service", ShortNames: []string{"svc"}},
		"nodes":             {Namespaced: false, Kind: "Node"},
		"namespaces":        {Namespaced: false, Kind: "Namespace"},
		"configmaps":        {Namespaced: true, Kind: "ConfigMap", ShortNames: []string{"cm"}},
		"pods/status":       {Namespaced: true, Kind: "Pod"},
		"pods/binding":      {Namespaced: true, Kind: "Binding"},
		"bindings":          {Namespaced: true, Kind: "Binding"},
		"componentstatuses": {Namespaced: false, Kind: "ComponentStatus", ShortNames: []string{"cs"}},
	} {
		got, ok := v1[name]
		if !ok {
			t.Errorf("/api/v1 lacks %s", name)
			continue
		}
		if got.Namespaced != want.Namespaced || got.Kind != want.Kind || (want.ShortNames != nil && !sameStrings(got.ShortNames, want.ShortNames)) {
			t.Errorf("/api/v1 %s: %+v, want %+v", name, got, want)
		}
	}
	if !has(v1["pods"].Verbs, "create", "delete", "get", "list", "patch", "update", "watch", "deletecollection") {
		t.Errorf("pods verbs %v", v1["pods"].Verbs)
	}
	if !sameStrings(v1["componentstatuses"].Verbs, []string{"get", "list"}) || !sameStrings(v1["bindings"].Verbs, []string{"create"}) {
		t.Errorf("componentstatuses verbs %v, bindings verbs %v", v1["componentstatuses"].Verbs, v1["bindings"].Verbs)
	}
	if _, ok := v1["deployments"]; ok {
		t.Errorf("/api/v1 lists deployments")
	}
	apps := resources("/apis/apps/v1", "apps/v1")
	if d := apps["deployments"]; d.Kind != "Deployment" || !d.Namespaced || !sameStrings(d.ShortNames, []string{"deploy"}) {
		t.Errorf("/apis/apps/v1 deployments: %+v", d)
	}
	if s := apps["deployments/scale"]; s.Kind != "Scale" || s.Group != "autoscaling" || s.Version != "v1" || !has(s.Verbs, "get", "update", "patch") {
		t.Errorf("/apis/apps/v1 deployments/scale: %+v", s)
	}
	for _, name := range []string{"deployments/status", "replicasets", "replicasets/scale"} {
		if _, ok := apps[name]; !ok {
			t.Errorf("/apis/apps/v1 lacks %s", name)
		}
	}
	if _, ok := resources("/apis/coordination.k8s.io/v1", "coordination.k8s.io/v1")["leases"]; !ok {
		t.Errorf("coordination.k8s.io/v1 lacks leases")
	}
	do(t, ts, "GET", "/apis/nosuchgroup/v1", nil).expect(t, http.StatusNotFound, "unknown group")
}

func getJSON(t *testing.T, ts *apptesting.TestServer, path string, into any) {
	t.Helper()
	r := do(t, ts, "GET", path, nil).expect(t, http.StatusOK, path)
	if err := json.Unmarshal(r.Body, into); err != nil {
		t.Fatalf("%s: %v: %s", path, err, r.Body)
	}
}

// TestComponentStatuses: etcd-0 is Healthy; the scheduler and controller-manager, which
// do not run (the test server probes 127.0.0.1:1 for them), are Unhealthy.
func TestComponentStatuses(t *testing.T) {
	ts := start(t)
	r := do(t, ts, "GET", "/api/v1/componentstatuses", nil).expect(t, http.StatusOK, "list componentstatuses")
	items := listItems(t, r, "ComponentStatusList", "v1")
	healthy := map[string]string{}
	for _, it := range items {
		name := it["metadata"].(map[string]any)["name"].(string)
		conds := it["conditions"].([]any)
		c := conds[0].(map[string]any)
		if c["type"] != "Healthy" {
			t.Errorf("%s: condition %v", name, c)
		}
		healthy[name] = c["status"].(string)
		if c["status"] == "False" && c["error"] == nil {
			t.Errorf("%s is unhealthy without an error: %v", name, c)
		}
	}
	want := map[string]string{"etcd-0": "True", "scheduler": "False", "controller-manager": "False"}
	for name, st := range want {
		if healthy[name] != st {
			t.Errorf("%s Healthy=%q, want %s (all: %v)", name, healthy[name], st, healthy)
		}
	}
	cs := &corev1.ComponentStatus{}
	do(t, ts, "GET", "/api/v1/componentstatuses/etcd-0", nil).expect(t, http.StatusOK, "get etcd-0").object(t, cs)
	if cs.Conditions[0].Status != "True" {
		t.Errorf("etcd-0: %v", cs.Conditions)
	}
	do(t, ts, "GET", "/api/v1/componentstatuses/nope", nil).expectStatus(t, http.StatusNotFound, "NotFound")
	do(t, ts, "DELETE", "/api/v1/componentstatuses/etcd-0", nil).expectStatus(t, http.StatusMethodNotAllowed, "MethodNotAllowed")
	l, err := ts.Client.ComponentStatuses().List(ctxFor(t), client.ListOptions{})
	if err != nil || len(l.Items) != 3 {
		t.Fatalf("gRPC list componentstatuses: %v %v", err, names(l.Items))
	}
}

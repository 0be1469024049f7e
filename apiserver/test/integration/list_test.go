package integration

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"

	corev1 "kube5/proto/api/core/v1"
	"kube5/proto/apierrors"
	"kube5/proto/client"
)

// TestListSelectorsAndShape lists with label selectors over both APIs, and checks the
// REST list is upstream's JSON: {"kind":"PodList","apiVersion":"v1","metadata":
// {"resourceVersion":...},"items":[...]} with items carrying no kind.
func TestListSelectorsAndShape(t *testing.T) {
	ts := start(t)
	ns := newNamespace(t, ts.Client, "list")
	ctx := ctxFor(t)
	pods := map[string]map[string]string{
		"web-1": {"app": "web", "tier": "front"},
		"web-2": {"app": "web", "tier": "back"},
		"db-1":  {"app": "db", "tier": "back"},
		"misc":  {"team": "x"},
	}
	for name, l := range pods {
		if _, err := ts.Client.Pods(ns).Create(ctx, newPod(ns, name, l)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ts.Client.Pods("default").Create(ctx, newPod("default", "other-ns", map[string]string{"app": "web"})); err != nil {
		t.Fatal(err)
	}
	cases := map[string][]string{
		"":                      {"db-1", "misc", "web-1", "web-2"},
		"app=web":               {"web-1", "web-2"},
		"app!=web":              {"db-1", "misc"},
		"app in (web,db)":       {"db-1", "web-1", "web-2"},
		"app notin (web)":       {"db-1", "misc"},
		"tier":                  {"db-1", "web-1", "web-2"},
		"!tier":                 {"misc"},
		"app=web,tier=back":     {"web-2"},
		"app=nothing-has-this":  {},
		"tier=back,app in (db)": {"db-1"},
	}
	for sel, want := range cases {
		l, err := ts.Client.Pods(ns).List(ctx, client.ListOptions{LabelSelector: sel})
		if err != nil {
			t.Fatalf("grpc list %q: %v", sel, err)
		}
		if got := names(l.Items); !sameStrings(got, want) {
			t.Errorf("grpc list %q: got %v, want %v", sel, got, want)
		}
		r := do(t, ts, "GET", "/api/v1/namespaces/"+ns+"/pods?labelSelector="+urlQuery(sel), nil).expect(t, http.StatusOK, "list "+sel)
		var got []string
		for _, it := range listItems(t, r, "PodList", "v1") {
			got = append(got, it["metadata"].(map[string]any)["name"].(string))
		}
		sort.Strings(got)
		if !sameStrings(got, want) {
			t.Errorf("rest list %q: got %v, want %v", sel, got, want)
		}
	}
	// All namespaces: the pod in default is there too.
	l, err := ts.Client.Pods("").List(ctx, client.ListOptions{LabelSelector: "app=web"})
	if err != nil || len(l.Items) != 3 {
		t.Fatalf("list across namespaces: %v %v", err, names(l.Items))
	}
	r := do(t, ts, "GET", "/api/v1/pods?labelSelector=app%3Dweb", nil).expect(t, http.StatusOK, "list all")
	if n := len(listItems(t, r, "PodList", "v1")); n != 3 {
		t.Fatalf("REST list across namespaces: %d items, want 3", n)
	}
	do(t, ts, "GET", "/api/v1/namespaces/"+ns+"/pods?labelSelector=app%3D%3D%3D", nil).expectStatus(t, http.StatusBadRequest, "BadRequest", "labelSelector")

	// Deployments list as apps/v1 DeploymentList.
	if _, err := ts.Client.Deployments(ns).Create(ctx, newDeployment(ns, "d", 1)); err != nil {
		t.Fatal(err)
	}
	r = do(t, ts, "GET", "/apis/apps/v1/namespaces/"+ns+"/deployments", nil).expect(t, http.StatusOK, "list deployments")
	if items := listItems(t, r, "DeploymentList", "apps/v1"); len(items) != 1 {
		t.Fatalf("deployments: %d items, want 1", len(items))
	}
}

// listItems checks the list envelope and returns its items.
func listItems(t *testing.T, r response, kind, apiVersion string) []map[string]any {
	t.Helper()
	if r.ContentType != "application/json" {
		t.Errorf("list Content-Type %q", r.ContentType)
	}
	// Upstream's field order, which people's scripts and eyes rely on.
	if prefix := `{"kind":"` + kind + `","apiVersion":"` + apiVersion + `","metadata":{`; !strings.HasPrefix(string(r.Body), prefix) {
		t.Errorf("list does not start with %s: %.120s", prefix, r.Body)
	}
	m := r.generic(t)
	if m["kind"] != kind || m["apiVersion"] != apiVersion {
		t.Fatalf("list kind %v apiVersion %v, want %s %s", m["kind"], m["apiVersion"], kind, apiVersion)
	}
	md, ok := m["metadata"].(map[string]any)
	if !ok {
		t.Fatalf("list without metadata: %s", r.Body)
	}
	computed := kind == "ComponentStatusList" // probed on each request, not stored: no revision
	if rv, ok := md["resourceVersion"].(string); (!ok || rv == "") && !computed {
		t.Fatalf("list metadata.resourceVersion %#v, want a non-empty string", md["resourceVersion"])
	}
	raw, ok := m["items"].([]any)
	if !ok {
		t.Fatalf("list items %#v, want an array (also when empty)", m["items"])
	}
	out := make([]map[string]any, 0, len(raw))
	for _, it := range raw {
		item := it.(map[string]any)
		if _, has := item["kind"]; has {
			t.Errorf("list item carries kind: %v", item)
		}
		if _, has := item["apiVersion"]; has {
			t.Errorf("list item carries apiVersion: %v", item)
		}
		if rv, _ := item["metadata"].(map[string]any)["resourceVersion"].(string); rv == "" && !computed {
			t.Errorf("list item without resourceVersion: %v", item)
		}
		out = append(out, item)
	}
	return out
}

// TestListPages: limit and continue page through a list, every page showing the
// snapshot of the first (objects created meanwhile are not in it), over both APIs; a
// continue token whose revision was compacted is 410 Gone.
func TestListPages(t *testing.T) {
	ts := start(t)
	ns := newNamespace(t, ts.Client, "pages")
	ctx := ctxFor(t)
	cms := ts.Client.ConfigMaps(ns)
	var want []string
	for i := range 7 {
		name := fmt.Sprintf("cm-%d", i)
		mustCreate(t, cms, newConfigMap(ns, name, nil))
		want = append(want, name)
	}
	first, err := cms.List(ctx, client.ListOptions{Limit: 3})
	if err != nil || len(first.Items) != 3 || first.Continue == "" {
		t.Fatalf("first page: %v, %v, continue %q", err, names(first.Items), first.Continue)
	}
	mustCreate(t, cms, newConfigMap(ns, "cm-late", nil)) // after the snapshot
	got := names(first.Items)
	token := first.Continue
	for token != "" {
		page, err := cms.List(ctx, client.ListOptions{Limit: 3, Continue: token})
		if err != nil {
			t.Fatalf("next page: %v", err)
		}
		if page.ResourceVersion != first.ResourceVersion {
			t.Errorf("page at revision %s, the first at %s", page.ResourceVersion, first.ResourceVersion)
		}
		got = append(got, names(page.Items)...)
		token = page.Continue
	}
	if !sameStrings(got, want) {
		t.Fatalf("paged list %v, want the snapshot %v", got, want)
	}

	// REST: the token is in metadata.continue.
	path := "/api/v1/namespaces/" + ns + "/configmaps?limit=5"
	var restNames []string
	next := ""
	for pages := 0; ; pages++ {
		p := path
		if next != "" {
			p += "&continue=" + urlQuery(next)
		}
		r := do(t, ts, "GET", p, nil).expect(t, http.StatusOK, "REST page")
		for _, it := range listItems(t, r, "ConfigMapList", "v1") {
			restNames = append(restNames, it["metadata"].(map[string]any)["name"].(string))
		}
		next, _ = r.generic(t)["metadata"].(map[string]any)["continue"].(string)
		if next == "" {
			if pages != 1 {
				t.Errorf("8 objects by 5 took %d pages", pages+1)
			}
			break
		}
	}
	if len(restNames) != 8 {
		t.Fatalf("REST pages: %v", restNames)
	}
	do(t, ts, "GET", path+"&continue=garbage", nil).expectStatus(t, http.StatusBadRequest, "BadRequest", "continue")

	stale, err := cms.List(ctx, client.ListOptions{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, cms, newConfigMap(ns, "cm-bump", nil))
	compactEtcd(t, ts)
	_, err = cms.List(ctx, client.ListOptions{Limit: 2, Continue: stale.Continue})
	if apierrors.CodeForError(err) != http.StatusGone {
		t.Fatalf("continue from a compacted revision: want 410, got %v", err)
	}
}

// TestDeleteCollectionAndDryRun: DELETE on a collection deletes what its selector lists;
// ?dryRun=All validates and answers without storing.
func TestDeleteCollectionAndDryRun(t *testing.T) {
	ts := start(t)
	ns := newNamespace(t, ts.Client, "coll")
	ctx := ctxFor(t)
	cms := ts.Client.ConfigMaps(ns)
	for i := range 6 {
		cm := newConfigMap(ns, fmt.Sprintf("cm-%d", i), nil)
		cm.Metadata.Labels = map[string]string{"batch": fmt.Sprint(i % 2)}
		mustCreate(t, cms, cm)
	}
	mustCreate(t, ts.Client.ConfigMaps("default"), newConfigMap("default", "elsewhere", map[string]string{"batch": "0"}))
	path := "/api/v1/namespaces/" + ns + "/configmaps"
	do(t, ts, "DELETE", path+"?labelSelector=batch%3D0", nil).expect(t, http.StatusOK, "deletecollection")
	l, err := cms.List(ctx, client.ListOptions{})
	if err != nil || !sameStrings(names(l.Items), []string{"cm-1", "cm-3", "cm-5"}) {
		t.Fatalf("after deleting batch=0: %v %v", err, names(l.Items))
	}
	if _, err := ts.Client.ConfigMaps("default").Get(ctx, "elsewhere"); err != nil {
		t.Fatalf("deletecollection reached another namespace: %v", err)
	}

	// dryRun: the answer is what would be stored; nothing is.
	out := &corev1.ConfigMap{}
	do(t, ts, "POST", path+"?dryRun=All", newConfigMap(ns, "dry", map[string]string{"k": "v"})).expect(t, http.StatusCreated, "dry-run create").object(t, out)
	if out.Metadata.Uid == "" || out.Data["k"] != "v" {
		t.Errorf("dry-run create answered %v", out)
	}
	if _, err := cms.Get(ctx, "dry"); !apierrors.IsNotFound(err) {
		t.Fatalf("a dry-run create was stored: %v", err)
	}
	do(t, ts, "POST", path+"?dryRun=All", newConfigMap(ns, "Bad!", nil)).expectStatus(t, http.StatusUnprocessableEntity, "Invalid")
	cur, _ := cms.Get(ctx, "cm-1")
	cur.Data = map[string]string{"changed": "yes"}
	do(t, ts, "PUT", path+"/cm-1?dryRun=All", cur).expect(t, http.StatusOK, "dry-run update").object(t, out)
	if out.Data["changed"] != "yes" {
		t.Errorf("dry-run update answered %v", out.Data)
	}
	if got, _ := cms.Get(ctx, "cm-1"); got.Data["changed"] != "" || got.Metadata.ResourceVersion != cur.Metadata.ResourceVersion {
		t.Fatalf("a dry-run update was stored: %v", got)
	}
}

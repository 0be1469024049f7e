package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"kube5/proto/apiservertest"
)

// TestGetOptions covers selectors and the machine-readable outputs.
func TestGetOptions(t *testing.T) {
	t.Parallel()
	s := apiservertest.Start(t)
	createFixtures(t, s.Client, "testdata/fixtures.yaml")
	e := newEnv(t, s.URL)
	wantEqual(t, "field selector", e.ok("get", "pods", "-n", "golden", "--field-selector", "spec.nodeName!=node-1", "-o", "name"), "pod/leaving\npod/pending\n")
	wantEqual(t, "chunks", e.ok("get", "pods", "-n", "golden", "--chunk-size=2", "-o", "name"), e.ok("get", "pods", "-n", "golden", "-o", "name"))
	wantEqual(t, "label selector", e.ok("get", "pods", "-n", "golden", "-l", "app in (web,crash)", "-o", "name"), "pod/crashing\npod/running\n")
	wantEqual(t, "no headers", e.ok("get", "ns", "golden", "--no-headers", "-o", "custom-columns=N:.metadata.name,S:.status.phase"), "golden   Active\n")
	wantEqual(t, "sort-by number", e.ok("get", "pods", "-n", "golden", "--sort-by", ".status.containerStatuses[0].restartCount", "-o", "jsonpath={.items[-1].metadata.name}"), "crashing")
	wantEqual(t, "label columns", normaliseTable(e.ok("get", "pods", "running", "-n", "golden", "-L", "tier")),
		"NAME      READY   STATUS    RESTARTS   AGE     TIER\nrunning   1/1     Running   0          <age>   front\n")

	var one map[string]any
	if err := json.Unmarshal([]byte(e.ok("get", "deploy", "web", "-n", "golden", "-o", "json")), &one); err != nil {
		t.Fatal(err)
	}
	if one["kind"] != "Deployment" || one["apiVersion"] != "apps/v1" {
		t.Errorf("-o json of one object: kind %v apiVersion %v", one["kind"], one["apiVersion"])
	}
	var list map[string]any
	if err := json.Unmarshal([]byte(e.ok("get", "cm,secret", "-n", "golden", "-o", "json")), &list); err != nil {
		t.Fatal(err)
	}
	if items, _ := list["items"].([]any); list["kind"] != "List" || len(items) != 2 {
		t.Errorf("-o json of several: %v", list)
	}
	wantContains(t, "bad output", e.fails("get", "pods", "-o", "xml"), `unable to match a printer suitable for the output format "xml"`)
	wantContains(t, "componentstatuses", e.run("get", "cs").err, "Warning: v1 ComponentStatus is deprecated in v1.19+")
	wantContains(t, "describe prefix", e.ok("describe", "pods", "runn", "-n", "golden"), "Name:             running")
}

// TestManifestDirectories covers -f DIR (and -R) and delete --cascade=orphan.
func TestManifestDirectories(t *testing.T) {
	t.Parallel()
	s := apiservertest.Start(t)
	e := newEnv(t, s.URL)
	dir := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(dir, "sub"), 0o755))
	writeFile(t, filepath.Join(dir, "a.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n", 0o644)
	writeFile(t, filepath.Join(dir, "b.json"), `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"b"}}`, 0o644)
	writeFile(t, filepath.Join(dir, "notes.txt"), "not a manifest", 0o644)
	writeFile(t, filepath.Join(dir, "sub", "c.yml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n", 0o644)
	wantEqual(t, "dir", e.ok("apply", "-f", dir), "configmap/a created\nconfigmap/b created\n")
	wantEqual(t, "dir -R", e.ok("apply", "-f", dir, "-R"), "configmap/a unchanged\nconfigmap/b unchanged\nconfigmap/c created\n")
	wantEqual(t, "missing path", e.fails("apply", "-f", filepath.Join(dir, "nope.yaml")), "error: the path \""+filepath.Join(dir, "nope.yaml")+"\" does not exist\n")

	e.ok("create", "deployment", "keep", "--image=nginx")
	// Orphaning is the garbage collector's work (the "orphan" finalizer), and it does
	// not run here: the object stays, marked for deletion, so do not wait for it.
	wantEqual(t, "orphan", e.ok("delete", "deploy", "keep", "--cascade=orphan", "--wait=false"), "deployment.apps \"keep\" deleted\n")
	d, err := s.Client.Deployments("default").Get(context.Background(), "keep")
	if err != nil || d.GetMetadata().GetDeletionTimestamp() == nil || len(d.GetMetadata().GetFinalizers()) != 1 || d.GetMetadata().GetFinalizers()[0] != "orphan" {
		t.Errorf("after delete --cascade=orphan: %v %v", err, d.GetMetadata())
	}
	wantContains(t, "wait timeout", e.fails("delete", "deploy", "keep", "--timeout=200ms"), "timed out waiting for the condition on deployments/keep")
}

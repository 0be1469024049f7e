package main

import (
	"strings"
	"testing"

	"kube5/proto/apiservertest"
)

// TestGetAndDescribeGolden prints every kind with get (and -o wide) and describe, and
// compares with testdata/*.golden.
func TestGetAndDescribeGolden(t *testing.T) {
	t.Parallel()
	s := apiservertest.Start(t)
	createFixtures(t, s.Client, "testdata/fixtures.yaml")
	e := newEnv(t, s.URL)
	wantEqual(t, "delete leaving", e.ok("delete", "pod", "leaving", "-n", "golden", "--wait=false"), "pod \"leaving\" deleted\n")
	tables := []struct {
		name string
		args []string
	}{
		{"get-pods", []string{"get", "pods", "-n", "golden"}},
		{"get-pods-wide", []string{"get", "po", "-n", "golden", "-o", "wide"}},
		{"get-pods-labels", []string{"get", "pods", "-n", "golden", "--show-labels", "-l", "app"}},
		{"get-pods-all-namespaces", []string{"get", "pods", "-A", "--sort-by", "{.status.phase}"}},
		{"get-nodes", []string{"get", "nodes"}},
		{"get-nodes-wide", []string{"get", "no", "-o", "wide"}},
		{"get-services", []string{"get", "svc", "-n", "golden"}},
		{"get-services-wide", []string{"get", "services", "-n", "golden", "-o", "wide"}},
		{"get-deployments", []string{"get", "deploy", "-n", "golden"}},
		{"get-deployments-wide", []string{"get", "deployments.apps", "-n", "golden", "-o", "wide"}},
		{"get-replicasets", []string{"get", "rs", "-n", "golden", "-o", "wide"}},
		{"get-rc", []string{"get", "rc", "-n", "golden"}},
		{"get-namespaces", []string{"get", "ns"}},
		{"get-endpoints", []string{"get", "ep", "-n", "golden"}},
		{"get-events", []string{"get", "ev", "-n", "golden"}},
		{"get-configmaps", []string{"get", "cm", "-n", "golden"}},
		{"get-secrets", []string{"get", "secret", "-n", "golden"}},
		{"get-jobs", []string{"get", "job", "-n", "golden", "-o", "wide"}},
		{"get-leases", []string{"get", "lease", "-n", "golden"}},
		{"get-serviceaccounts", []string{"get", "sa", "-n", "golden"}},
		{"get-all", []string{"get", "all", "-n", "golden"}},
		{"get-deploy-svc", []string{"get", "deploy,svc", "-n", "golden"}},
		{"get-by-name", []string{"get", "pod/running", "svc/web", "-n", "golden"}},
		{"get-custom-columns", []string{"get", "pods", "-n", "golden", "-o", "custom-columns=NAME:.metadata.name,NODE:.spec.nodeName,IMAGES:.spec.containers[*].image"}},
	}
	for _, tc := range tables {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			golden(t, tc.name, normaliseTable(e.ok(tc.args...)))
		})
	}
	texts := []struct {
		name string
		args []string
	}{
		{"describe-pod", []string{"describe", "pod", "running", "-n", "golden"}},
		{"describe-pod-crashing", []string{"describe", "pods/crashing", "-n", "golden"}},
		{"describe-node", []string{"describe", "node", "node-1"}},
		{"describe-service", []string{"describe", "svc", "web-np", "-n", "golden"}},
		{"describe-deployment", []string{"describe", "deploy", "web", "-n", "golden"}},
		{"describe-replicaset", []string{"describe", "rs", "web-7d9c4", "-n", "golden"}},
		{"describe-rc", []string{"describe", "rc", "legacy", "-n", "golden"}},
		{"describe-namespace", []string{"describe", "ns", "golden"}},
		{"describe-job", []string{"describe", "job", "once", "-n", "golden"}},
		{"describe-configmap", []string{"describe", "cm", "settings", "-n", "golden"}},
		{"describe-secret", []string{"describe", "secret", "token", "-n", "golden"}},
		{"describe-serviceaccount", []string{"describe", "sa", "builder", "-n", "golden"}},
		{"describe-endpoints", []string{"describe", "ep", "web", "-n", "golden"}},
		{"describe-lease", []string{"describe", "lease", "kube-scheduler", "-n", "golden"}},
		{"get-pod-yaml", []string{"get", "pod", "running", "-n", "golden", "-o", "yaml"}},
		{"get-jsonpath", []string{"get", "pods", "-n", "golden", "-o", `jsonpath={range .items[*]}{.metadata.name}{"\t"}{.status.phase}{"\n"}{end}`}},
		{"get-name", []string{"get", "deploy,svc", "-n", "golden", "-o", "name"}},
	}
	for _, tc := range texts {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			golden(t, tc.name, normaliseText(e.ok(tc.args...)))
		})
	}
	t.Run("errors", func(t *testing.T) {
		e.t = t
		wantEqual(t, "not found", e.fails("get", "pod", "nope", "-n", "golden"), "Error from server (NotFound): pods \"nope\" not found\n")
		wantEqual(t, "unknown type", e.fails("get", "widgets"), "error: the server doesn't have a resource type \"widgets\"\n")
		r := e.run("get", "pods", "-n", "empty")
		wantEqual(t, "empty namespace", r.err, "No resources found in empty namespace.\n")
		if r.code != 0 || r.out != "" {
			t.Errorf("empty list: exit %d, stdout %q", r.code, r.out)
		}
		// Found and missing names together: what exists is printed, then the error.
		r = e.run("get", "pods", "running", "nope", "-n", "golden", "-o", "name")
		if r.code != 1 || r.out != "pod/running\n" || !strings.Contains(r.err, `pods "nope" not found`) {
			t.Errorf("partial get: exit %d\n%s\n%s", r.code, r.out, r.err)
		}
	})
}

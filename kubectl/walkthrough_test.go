package main

import (
	"bufio"
	"context"

	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apiservertest"
)

// TestWalkthrough is the client side of the README's walkthrough, start to finish, with
// the connection configured in ~/.kube/config by kubectl config, as a user does it.
func TestWalkthrough(t *testing.T) {
	t.Parallel()
	s := apiservertest.Start(t)
	e := newEnv(t, "")
	ctx := context.Background()

	wantEqual(t, "set-cluster", e.ok("config", "set-cluster", "local", "--server="+s.URL), "Cluster \"local\" set.\n")
	wantEqual(t, "set-context", e.ok("config", "set-context", "local", "--cluster=local"), "Context \"local\" created.\n")
	wantEqual(t, "use-context", e.ok("config", "use-context", "local"), "Switched to context \"local\".\n")
	wantEqual(t, "current-context", e.ok("config", "current-context"), "local\n")
	wantEqual(t, "get-contexts", e.ok("config", "get-contexts"),
		"CURRENT   NAME    CLUSTER   AUTHINFO   NAMESPACE\n*         local   local                \n")
	wantContains(t, "view", e.ok("config", "view"), "current-context: local", "server: "+s.URL)
	wantContains(t, "kubeconfig file", readFile(t, filepath.Join(e.home, ".kube", "config")), "current-context: local")

	wantEqual(t, "create deployment", e.ok("create", "deployment", "web", "--image=nginx"), "deployment.apps/web created\n")
	all := e.ok("get", "all")
	wantContains(t, "get all", all, "deployment.apps/web   0/1")
	// Every cluster has the kubernetes service, as upstream's walkthrough shows.
	wantContains(t, "get all", all, "service/kubernetes   ClusterIP   10.0.0.1 ", "80/TCP")
	wantEqual(t, "scale", e.ok("scale", "deploy", "web", "--replicas=3"), "deployment.apps/web scaled\n")
	if d, err := s.Client.Deployments("default").Get(ctx, "web"); err != nil || d.GetSpec().GetReplicas() != 3 {
		t.Fatalf("after scale: %v, replicas %d", err, d.GetSpec().GetReplicas())
	}
	wantEqual(t, "expose", e.ok("expose", "deployment", "web", "--port=80"), "service/web exposed\n")
	svc := e.ok("get", "svc", "web", "--no-headers")
	fields := strings.Fields(svc)
	if len(fields) < 5 || fields[1] != "ClusterIP" || fields[4] != "80/TCP" {
		t.Fatalf("get svc web: %q", svc)
	}
	if _, cidr, _ := net.ParseCIDR("10.0.0.0/24"); !cidr.Contains(net.ParseIP(fields[2])) {
		t.Errorf("CLUSTER-IP %s is not in 10.0.0.0/24", fields[2])
	}

	// The service account controller is not running here: create what it would.
	if _, err := s.Client.ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{Metadata: &metav1.ObjectMeta{Name: "default"}}); err != nil {
		t.Fatal(err)
	}
	editor := filepath.Join(e.home, "editor.sh")
	writeFile(t, editor, "#!/bin/sh\necho 'automountServiceAccountToken: false' >> \"$1\"\n", 0o755)
	e.extra = []string{"EDITOR=" + editor}
	wantEqual(t, "edit", e.ok("edit", "sa", "default"), "serviceaccount/default edited\n")
	e.extra = nil
	sa, err := s.Client.ServiceAccounts("default").Get(ctx, "default")
	if err != nil || sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
		t.Fatalf("edit did not persist automountServiceAccountToken: false: %v %v", err, sa)
	}

	wantEqual(t, "delete svc", e.ok("delete", "svc", "web"), "service \"web\" deleted\n")
	wantEqual(t, "delete deploy", e.ok("delete", "deployment", "web"), "deployment.apps \"web\" deleted\n")
	wantEqual(t, "delete sa", e.ok("delete", "sa", "default"), "serviceaccount \"default\" deleted\n")
	wantEqual(t, "gone", e.fails("get", "deploy", "web"), "Error from server (NotFound): deployments.apps \"web\" not found\n")
}

// TestEditReopensOnInvalidInput: an edit the server or the schema rejects reopens the
// editor with the error on top; the second attempt (fixed) is saved.
func TestEditReopensOnInvalidInput(t *testing.T) {
	t.Parallel()
	s := apiservertest.Start(t)
	e := newEnv(t, s.URL)
	e.ok("create", "configmap", "cfg", "--from-literal=a=1")
	editor := filepath.Join(e.home, "editor.sh")
	// First pass: add an unknown field. Second pass (the file now starts with the error
	// comment): replace it with a valid change.
	writeFile(t, editor, `#!/bin/sh
if grep -q 'was not valid' "$1"; then
  grep -q 'unknown field \\"bogus\\"' "$1" || grep -q 'bogus' "$1" || exit 3
  sed -i 's/^bogus: .*$//' "$1"
  sed -i 's/^  a: "1"$/  a: "2"/' "$1"
else
  echo 'bogus: 1' >> "$1"
fi
`, 0o755)
	e.extra = []string{"EDITOR=" + editor}
	r := e.run("edit", "cm", "cfg")
	if r.code != 0 {
		t.Fatalf("edit: exit %d\n%s\n%s", r.code, r.out, r.err)
	}
	wantEqual(t, "edit", r.out, "configmap/cfg edited\n")
	cm, err := s.Client.ConfigMaps("default").Get(context.Background(), "cfg")
	if err != nil || cm.GetData()["a"] != "2" {
		t.Fatalf("configmap after edit: %v %v", err, cm.GetData())
	}
	// Someone else changes the object while the editor is open: the save conflicts, and
	// kubectl merges the user's change onto the newer object.
	writeFile(t, editor, "#!/bin/sh\n"+kubectlBin+" --server="+s.URL+" label cm cfg other=x >/dev/null || exit 4\nsed -i 's/^  a: \"2\"$/  a: \"3\"/' \"$1\"\n", 0o755)
	wantEqual(t, "edit with conflict", e.ok("edit", "cm", "cfg"), "configmap/cfg edited\n")
	cm, err = s.Client.ConfigMaps("default").Get(context.Background(), "cfg")
	if err != nil || cm.GetData()["a"] != "3" || cm.GetMetadata().GetLabels()["other"] != "x" {
		t.Fatalf("configmap after conflicting edit: %v %v %v", err, cm.GetData(), cm.GetMetadata().GetLabels())
	}
	// An editor that saves the same invalid text twice gives up with an error.
	writeFile(t, editor, "#!/bin/sh\ngrep -q bogus \"$1\" || echo 'bogus: 1' >> \"$1\"\n", 0o755)
	r = e.run("edit", "cm", "cfg")
	if r.code == 0 || !strings.Contains(r.err, "Edit cancelled, no valid changes were saved") {
		t.Fatalf("repeated invalid edit: exit %d\n%s\n%s", r.code, r.out, r.err)
	}
}

// TestGetWatchAcrossRestart: get -w prints each change as it happens and keeps going
// when the apiserver restarts, resuming from the last resourceVersion it printed.
func TestGetWatchAcrossRestart(t *testing.T) {
	t.Parallel()
	s := apiservertest.Start(t)
	e := newEnv(t, s.URL)
	e.ok("run", "first", "--image=nginx")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, kubectlBin, "--server="+s.URL, "get", "pods", "-w")
	cmd.Env = []string{"HOME=" + e.home}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	defer func() {
		if t.Failed() {
			t.Logf("kubectl get -w stderr:\n%s", stderr.String())
		}
	}()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = cmd.Wait() }()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	expect := func(prefix string) string {
		t.Helper()
		deadline := time.After(30 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("kubectl get -w ended before printing %q", prefix)
				}
				if strings.HasPrefix(l, prefix) {
					return l
				}
			case <-deadline:
				t.Fatalf("kubectl get -w did not print %q within 30s", prefix)
			}
		}
	}
	if h := expect("NAME"); !strings.Contains(h, "READY") {
		t.Errorf("header: %q", h)
	}
	expect("first ")
	e.ok("run", "second", "--image=nginx")
	if l := expect("second "); !strings.Contains(l, "Pending") {
		t.Errorf("second: %q", l)
	}
	s.Restart(t)
	e.ok("run", "third", "--image=nginx")
	expect("third ")
	e.ok("label", "pod", "first", "changed=yes")
	expect("first ")
	select {
	case l := <-lines:
		if strings.HasPrefix(l, "second") {
			t.Errorf("an event was repeated after the restart: %q", l)
		}
	default:
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

package kubeconfig_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kube5/proto/kubeconfig"
)

// upstreamFile is shaped as kubectl/kind write it: sorted keys, lists sorted by name,
// base64 CA data, an exec user and an extension that kube5 does not use but must keep.
const upstreamFile = `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==
    server: https://127.0.0.1:6443
  name: kind-kind
- cluster:
    insecure-skip-tls-verify: true
    server: http://127.0.0.1:8080
  name: local
contexts:
- context:
    cluster: kind-kind
    extensions:
    - extension:
        last-update: Mon, 01 Jan 2024 00:00:00 UTC
        provider: minikube.sigs.k8s.io
      name: context_info
    namespace: dev
    user: kind-kind
  name: kind-kind
- context:
    cluster: local
    user: ""
  name: local
current-context: kind-kind
kind: Config
preferences: {}
users:
- name: kind-kind
  user:
    token: abc123
- name: oidc
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      args:
      - oidc-login
      - get-token
      command: kubectl
      env: null
      interactiveMode: IfAvailable
      provideClusterInfo: false
`

func TestRoundTripUpstreamFile(t *testing.T) {
	c, err := kubeconfig.Parse([]byte(upstreamFile))
	if err != nil {
		t.Fatal(err)
	}
	if cl, ok := c.Cluster("kind-kind"); !ok || string(cl.CertificateAuthorityData) != "-----BEGIN CERTIFICATE-----\n" {
		t.Fatalf("CA data not decoded: %+v", cl)
	}
	if cl, _ := c.Cluster("local"); !cl.InsecureSkipTLSVerify {
		t.Fatal("insecure-skip-tls-verify lost")
	}
	if u, _ := c.User("kind-kind"); u.Token != "abc123" {
		t.Fatalf("token = %q", u.Token)
	}
	out, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != upstreamFile {
		t.Fatalf("round trip changed the file:\n%s\nwant:\n%s", out, upstreamFile)
	}
}

func TestWriteSortsByName(t *testing.T) {
	c := &kubeconfig.Config{}
	c.SetCluster("b", "http://b")
	c.SetCluster("a", "http://a")
	out, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if i, j := strings.Index(string(out), "name: a"), strings.Index(string(out), "name: b"); i < 0 || j < i {
		t.Fatalf("clusters not sorted by name:\n%s", out)
	}
}

// The walkthrough's commands, each a separate kubectl run loading and saving the file,
// must leave exactly what upstream kubectl writes.
func TestWalkthroughSequence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "home", ".kube", "config")
	steps := []func(*kubeconfig.Config) error{
		func(c *kubeconfig.Config) error { c.SetCluster("local", "http://127.0.0.1:8080"); return nil },
		func(c *kubeconfig.Config) error { c.SetContext("local", "local", "", ""); return nil },
		func(c *kubeconfig.Config) error { return c.UseContext("local") },
	}
	for i, step := range steps {
		c, err := kubeconfig.Load(path)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if err := step(c); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if err := c.Save(path); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const want = `apiVersion: v1
clusters:
- cluster:
    server: http://127.0.0.1:8080
  name: local
contexts:
- context:
    cluster: local
    user: ""
  name: local
current-context: local
kind: Config
preferences: {}
users: null
`
	if string(got) != want {
		t.Fatalf("file:\n%s\nwant:\n%s", got, want)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode = %v, want 0600", fi.Mode().Perm())
	}
	c, _ := kubeconfig.Load(path)
	server, ns, err := c.ClientConfig("", "")
	if err != nil || server != "http://127.0.0.1:8080" || ns != "default" {
		t.Fatalf("ClientConfig = %q, %q, %v", server, ns, err)
	}
}

func TestFirstSetClusterWritesUpstreamShape(t *testing.T) {
	c := &kubeconfig.Config{}
	c.SetCluster("local", "http://127.0.0.1:8080")
	out, _ := c.Marshal()
	const want = `apiVersion: v1
clusters:
- cluster:
    server: http://127.0.0.1:8080
  name: local
contexts: null
current-context: ""
kind: Config
preferences: {}
users: null
`
	if string(out) != want {
		t.Fatalf("got:\n%s\nwant:\n%s", out, want)
	}
}

func TestSetContextChangesOnlyGivenFields(t *testing.T) {
	c := &kubeconfig.Config{}
	c.SetContext("x", "c1", "ns1", "u1")
	c.SetContext("x", "", "ns2", "")
	ctx, _ := c.Context("x")
	if ctx.Cluster != "c1" || ctx.Namespace != "ns2" || ctx.AuthInfo != "u1" {
		t.Fatalf("context = %+v", ctx)
	}
	c.SetCluster("c1", "http://a")
	c.SetCluster("c1", "")
	if cl, _ := c.Cluster("c1"); cl.Server != "http://a" {
		t.Fatalf("server = %q, want unchanged", cl.Server)
	}
}

func TestUseContextUnknown(t *testing.T) {
	c := &kubeconfig.Config{}
	err := c.UseContext("x")
	if err == nil || err.Error() != `no context exists with the name: "x"` {
		t.Fatalf("err = %v", err)
	}
	if c.CurrentContext() != "" {
		t.Fatal("current-context changed")
	}
}

func TestClientConfig(t *testing.T) {
	empty := &kubeconfig.Config{}
	if s, ns, err := empty.ClientConfig("", ""); err != nil || s != "http://127.0.0.1:8080" || ns != "default" {
		t.Fatalf("empty: %q %q %v", s, ns, err)
	}
	if s, _, _ := empty.ClientConfig("", "http://x:1"); s != "http://x:1" {
		t.Fatalf("server override: %q", s)
	}

	c, err := kubeconfig.Parse([]byte(upstreamFile))
	if err != nil {
		t.Fatal(err)
	}
	if s, ns, err := c.ClientConfig("", ""); err != nil || s != "https://127.0.0.1:6443" || ns != "dev" {
		t.Fatalf("current context: %q %q %v", s, ns, err)
	}
	if s, ns, err := c.ClientConfig("local", ""); err != nil || s != "http://127.0.0.1:8080" || ns != "default" {
		t.Fatalf("context override: %q %q %v", s, ns, err)
	}
	if s, ns, _ := c.ClientConfig("", "http://other:8080"); s != "http://other:8080" || ns != "dev" {
		t.Fatalf("server override keeps namespace: %q %q", s, ns)
	}
	_, _, err = c.ClientConfig("nope", "")
	var nf *kubeconfig.ContextNotFoundError
	if !errors.As(err, &nf) || err.Error() != "context was not found for specified context: nope" {
		t.Fatalf("unknown context: %v", err)
	}
	c.CurrentContextName = "gone"
	if _, _, err := c.ClientConfig("", ""); !errors.As(err, &nf) {
		t.Fatalf("dangling current-context: %v", err)
	}

	r, err := (&kubeconfig.Config{}).Resolve("", "")
	if err != nil || !r.ServerDefaulted {
		t.Fatalf("Resolve on empty config: %+v %v", r, err)
	}
}

func TestLoadMissingAndEmpty(t *testing.T) {
	dir := t.TempDir()
	c, err := kubeconfig.Load(filepath.Join(dir, "nope"))
	if err != nil || len(c.Clusters) != 0 {
		t.Fatalf("missing file: %+v %v", c, err)
	}
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o600)
	if _, err := kubeconfig.Load(empty); err != nil {
		t.Fatalf("empty file: %v", err)
	}
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("clusters: [unclosed"), 0o600)
	if _, err := kubeconfig.Load(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Fatalf("bad file error should name the path: %v", err)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestLoadDefaultMergesKUBECONFIG(t *testing.T) {
	dir := t.TempDir()
	a, b, missing := filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "missing")
	write(t, a, `clusters:
- name: shared
  cluster: {server: "http://from-a"}
contexts:
- name: ctx-a
  context: {cluster: shared, namespace: a-ns}
`)
	write(t, b, `clusters:
- name: shared
  cluster: {server: "http://from-b"}
- name: only-b
  cluster: {server: "http://only-b"}
contexts:
- name: ctx-a
  context: {cluster: only-b}
- name: ctx-b
  context: {cluster: only-b}
current-context: ctx-b
users:
- name: u
  user: {token: t}
`)
	t.Setenv("KUBECONFIG", strings.Join([]string{missing, a, "", b, a}, string(os.PathListSeparator)))
	c, path, err := kubeconfig.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	// missing does not exist, so changes go to the first listed file that does.
	if path != a {
		t.Fatalf("write path = %q, want %q", path, a)
	}
	if cl, _ := c.Cluster("shared"); cl.Server != "http://from-a" {
		t.Fatalf("first file must win a cluster name: %q", cl.Server)
	}
	if _, ok := c.Cluster("only-b"); !ok {
		t.Fatal("cluster only in the second file lost")
	}
	if ctx, _ := c.Context("ctx-a"); ctx.Cluster != "shared" || ctx.Namespace != "a-ns" {
		t.Fatalf("first file must win a context name: %+v", ctx)
	}
	if c.CurrentContext() != "ctx-b" {
		t.Fatalf("current-context = %q: first non-empty wins", c.CurrentContext())
	}
	if _, ok := c.User("u"); !ok {
		t.Fatal("user lost")
	}

	// A current-context in an earlier file wins over a later one.
	write(t, a, "current-context: ctx-a\n")
	c, _, _ = kubeconfig.LoadDefault()
	if c.CurrentContext() != "ctx-a" {
		t.Fatalf("current-context = %q, want ctx-a", c.CurrentContext())
	}

	// No listed file exists: the last one is created.
	t.Setenv("KUBECONFIG", filepath.Join(dir, "n1")+string(os.PathListSeparator)+filepath.Join(dir, "n2"))
	if _, path, _ := kubeconfig.LoadDefault(); path != filepath.Join(dir, "n2") {
		t.Fatalf("write path = %q, want the last listed", path)
	}
	// A single listed file is always the one written.
	t.Setenv("KUBECONFIG", filepath.Join(dir, "n1"))
	if _, path, _ := kubeconfig.LoadDefault(); path != filepath.Join(dir, "n1") {
		t.Fatalf("write path = %q", path)
	}
}

func TestLoadDefaultHome(t *testing.T) {
	home := t.TempDir()
	t.Setenv("KUBECONFIG", "")
	t.Setenv("HOME", home)
	c, path, err := kubeconfig.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(home, ".kube", "config"); path != want {
		t.Fatalf("path = %q, want %q", path, want)
	}
	c.SetCluster("x", "http://x")
	if err := c.Save(path); err != nil {
		t.Fatal(err)
	}
	c2, _, err := kubeconfig.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	if cl, ok := c2.Cluster("x"); !ok || cl.Server != "http://x" {
		t.Fatalf("saved cluster not read back: %+v", c2)
	}
}

func TestSaveThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real")
	link := filepath.Join(dir, "link")
	write(t, real, "")
	if err := os.Symlink(real, link); err != nil {
		t.Skip(err)
	}
	c := &kubeconfig.Config{}
	c.SetCluster("x", "http://x")
	if err := c.Save(link); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Lstat(link); fi.Mode()&os.ModeSymlink == 0 {
		t.Fatal("symlink replaced by a file")
	}
	if got, _ := os.ReadFile(real); !strings.Contains(string(got), "http://x") {
		t.Fatalf("target not written: %s", got)
	}
}

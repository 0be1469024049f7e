package daemon_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"kube5/proto/daemon"
)

func parseMaster(t *testing.T, args ...string) *daemon.MasterFlags {
	t.Helper()
	f := &daemon.MasterFlags{}
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	f.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestMasterFlags(t *testing.T) {
	dir := t.TempDir()
	kc := filepath.Join(dir, "kubeconfig")
	os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
clusters:
- name: local
  cluster: {server: "http://10.1.2.3:8080"}
contexts:
- name: local
  context: {cluster: local}
current-context: local
`), 0o600)
	noServer := filepath.Join(dir, "noserver")
	os.WriteFile(noServer, []byte("apiVersion: v1\nkind: Config\n"), 0o600)

	cases := []struct {
		args   []string
		server string
		flag   string // ServerFlag; "" skips the check
		errHas []string
	}{
		{args: nil, errHas: []string{"neither --kubeconfig nor --master was specified"}},
		{args: []string{"--master=http://127.0.0.1:8080"}, server: "http://127.0.0.1:8080", flag: "--master"},
		{args: []string{"--kubeconfig", kc}, server: "http://10.1.2.3:8080", flag: "--kubeconfig " + kc},
		{args: []string{"--kubeconfig", kc, "--master", "http://127.0.0.1:9999"}, server: "http://127.0.0.1:9999"},
		{args: []string{"--kubeconfig", filepath.Join(dir, "missing")}, errHas: []string{"--kubeconfig", filepath.Join(dir, "missing"), "no such file"}},
		{args: []string{"--kubeconfig", noServer}, errHas: []string{"--kubeconfig", noServer, "--master"}},
		{args: []string{"--master", "https://secure:6443"}, errHas: []string{"--master", "https://secure:6443"}},
		{args: []string{"--master=http://127.0.0.1:8080", "--kubeconfig", filepath.Join(dir, "missing")}, errHas: []string{"--kubeconfig", "no such file"}},
		{args: []string{"--master=http://127.0.0.1:9999", "--kubeconfig", noServer}, server: "http://127.0.0.1:9999", flag: "--master"},
	}
	for _, c := range cases {
		cfg, err := parseMaster(t, c.args...).ClientConfig()
		if c.errHas != nil {
			if err == nil {
				t.Errorf("%v: no error, want one containing %q", c.args, c.errHas)
				continue
			}
			for _, s := range c.errHas {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("%v: error %q lacks %q", c.args, err, s)
				}
			}
			continue
		}
		if err != nil || cfg.Server != c.server {
			t.Errorf("%v: server %q, err %v; want %q", c.args, cfg.Server, err, c.server)
		}
		if c.flag != "" && cfg.ServerFlag != c.flag {
			t.Errorf("%v: ServerFlag %q; want %q (the unreachable-apiserver message names it)", c.args, cfg.ServerFlag, c.flag)
		}
	}
}

// TestKubeconfigClientConfig: the kubelet's --kubeconfig (no --master) gets the same
// checks, with its own way out in the message.
func TestKubeconfigClientConfig(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nonexistent")
	_, err := daemon.KubeconfigClientConfig(missing, "omit --kubeconfig to run standalone")
	if err == nil || err.Error() != "--kubeconfig "+missing+": no such file; give the path of a kubeconfig file naming the apiserver, or omit --kubeconfig to run standalone" {
		t.Fatalf("missing file: %v", err)
	}
}

func TestMasterFlagsHelp(t *testing.T) {
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	(&daemon.MasterFlags{}).AddFlags(fs)
	if f := fs.Lookup("master"); f == nil || !strings.Contains(f.Usage, "overrides any value in kubeconfig") {
		t.Fatalf("--master: %+v", f)
	}
	if f := fs.Lookup("kubeconfig"); f == nil || !strings.HasPrefix(f.Usage, "Path to kubeconfig file") {
		t.Fatalf("--kubeconfig: %+v", f)
	}
}

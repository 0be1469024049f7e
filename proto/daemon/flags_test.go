package daemon

import (
	"bytes"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/klog/v2"
)

func TestGlobalFlags(t *testing.T) {
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	AddGlobalFlags(fs)
	AddGlobalFlags(fs) // harmless twice
	for _, name := range []string{"v", "vmodule", "logtostderr", "alsologtostderr", "log-file", "log-dir", "stderrthreshold", "skip-headers"} {
		if fs.Lookup(name) == nil {
			t.Errorf("flag --%s missing", name)
		}
	}
	if f := fs.Lookup("logtostderr"); f == nil || f.DefValue != "true" {
		t.Errorf("--logtostderr default = %v, want true", f)
	}
	if f := fs.ShorthandLookup("v"); f == nil || f.Name != "v" {
		t.Errorf("-v shorthand missing")
	}

	old := fs.Lookup("v").Value.String()
	defer fs.Set("v", old)
	if err := fs.Parse([]string{"-v=4"}); err != nil {
		t.Fatal(err)
	}
	if !klog.V(4).Enabled() || klog.V(5).Enabled() {
		t.Fatal("-v=4 did not reach klog")
	}
	if err := fs.Parse([]string{"--v=2"}); err != nil {
		t.Fatal(err)
	}
	if !klog.V(2).Enabled() || klog.V(3).Enabled() {
		t.Fatal("--v=2 did not reach klog")
	}
}

func TestVersionFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string // "" = not requested
	}{
		{nil, ""},
		{[]string{"--version"}, "Kubernetes v"},
		{[]string{"--version=false"}, ""},
		{[]string{"--version=raw"}, "version.Info{"},
	} {
		fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
		AddVersionFlag(fs)
		if err := fs.Parse(c.args); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		printed := printVersion(fs, &out)
		if printed != (c.want != "") || !strings.HasPrefix(out.String(), c.want) {
			t.Errorf("%v: printed=%v %q, want %q", c.args, printed, out.String(), c.want)
		}
	}
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	AddVersionFlag(fs)
	if err := fs.Parse([]string{"--version=bogus"}); err == nil {
		t.Error("--version=bogus accepted")
	}
}

func TestSignalContext(t *testing.T) {
	exited := make(chan int, 1)
	ctx, stop := signalContext(func(code int) { exited <- code })
	defer stop()

	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("first signal did not cancel the context")
	}
	select {
	case <-exited:
		t.Fatal("first signal exited the process")
	default:
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-exited:
		if code != 1 {
			t.Fatalf("exit code %d, want 1", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("second signal did not exit")
	}
}

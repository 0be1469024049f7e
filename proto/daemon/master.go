package daemon

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/pflag"

	"kube5/proto/client"
	"kube5/proto/kubeconfig"
)

// MasterFlags is the --master / --kubeconfig pair of kube-controller-manager,
// kube-scheduler and kube-proxy.
type MasterFlags struct {
	Master     string
	Kubeconfig string
}

// AddFlags registers --master and --kubeconfig with upstream's help text.
func (f *MasterFlags) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&f.Master, "master", f.Master, "The address of the Kubernetes API server (overrides any value in kubeconfig).")
	fs.StringVar(&f.Kubeconfig, "kubeconfig", f.Kubeconfig, "Path to kubeconfig file with authorization and master location information (the master location can be overridden by the master flag).")
}

// ClientConfig says where the apiserver is: --master if set, else the server of the
// kubeconfig's current context. Unlike kubectl, a daemon does not fall back to
// 127.0.0.1:8080 silently: with neither flag, or a kubeconfig naming no server, it is an
// error naming the flags. UserAgent and Timeout are left for the caller.
func (f *MasterFlags) ClientConfig() (client.Config, error) {
	if f.Master == "" && f.Kubeconfig == "" {
		return client.Config{}, errors.New("neither --kubeconfig nor --master was specified; " +
			"pass --master=http://127.0.0.1:8080 to use the kube-apiserver on this machine, or --kubeconfig=<file>")
	}
	server := f.Master
	if f.Kubeconfig != "" {
		// kubeconfig.Load reads a missing file as empty, which suits kubectl; for a daemon
		// a --kubeconfig that is not there is a typo to report.
		if _, err := os.Stat(f.Kubeconfig); err != nil {
			return client.Config{}, fmt.Errorf("invalid --kubeconfig: %w", err)
		}
		cfg, err := kubeconfig.Load(f.Kubeconfig)
		if err != nil {
			return client.Config{}, fmt.Errorf("invalid --kubeconfig: %w", err)
		}
		r, err := cfg.Resolve("", f.Master)
		if err != nil {
			return client.Config{}, fmt.Errorf("invalid --kubeconfig %q: %w", f.Kubeconfig, err)
		}
		if r.ServerDefaulted {
			return client.Config{}, fmt.Errorf("--kubeconfig %q names no server (current-context %q); "+
				"add a cluster with a server to it, or pass --master", f.Kubeconfig, cfg.CurrentContext())
		}
		server = r.Server
	}
	if _, err := client.ParseServer(server); err != nil {
		flagName := "--master"
		if f.Master == "" {
			flagName = "--kubeconfig " + f.Kubeconfig
		}
		return client.Config{}, fmt.Errorf("%s: %w", flagName, err)
	}
	return client.Config{Server: server}, nil
}

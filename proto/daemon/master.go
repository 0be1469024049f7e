package daemon

import (
	"errors"
	"fmt"
	"io/fs"
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
// error naming the flags. ServerFlag names the flag the address came from, so the client
// says which flag to check while the apiserver cannot be reached; UserAgent and Timeout
// are left for the caller.
func (f *MasterFlags) ClientConfig() (client.Config, error) {
	if f.Master == "" && f.Kubeconfig == "" {
		return client.Config{}, errors.New("neither --kubeconfig nor --master was specified; " +
			"pass --master=http://127.0.0.1:8080 to use the kube-apiserver on this machine, or --kubeconfig=<file>")
	}
	if f.Master != "" {
		if f.Kubeconfig != "" {
			// --master wins, but a --kubeconfig that is not there is still a typo to report.
			if _, err := readKubeconfig(f.Kubeconfig, f.Master, "drop it"); err != nil {
				return client.Config{}, err
			}
		}
		if _, err := client.ParseServer(f.Master); err != nil {
			return client.Config{}, fmt.Errorf("--master: %w", err)
		}
		return client.Config{Server: f.Master, ServerFlag: "--master"}, nil
	}
	return KubeconfigClientConfig(f.Kubeconfig, "pass --master=http://127.0.0.1:8080 instead")
}

// KubeconfigClientConfig reads a daemon's --kubeconfig: the file must exist and name a
// server in its current context (kubeconfig.Load reads a missing file as empty, which
// suits kubectl; for a daemon it is a typo to report, not a reason to try 127.0.0.1:8080).
// alternative ends the error messages with the other way to start ("omit --kubeconfig
// to run standalone"). ServerFlag is set to "--kubeconfig <path>".
func KubeconfigClientConfig(path, alternative string) (client.Config, error) {
	r, err := readKubeconfig(path, "", alternative)
	if err != nil {
		return client.Config{}, err
	}
	if _, err := client.ParseServer(r.Server); err != nil {
		return client.Config{}, fmt.Errorf("--kubeconfig %s: %w", path, err)
	}
	return client.Config{Server: r.Server, ServerFlag: "--kubeconfig " + path}, nil
}

func readKubeconfig(path, masterOverride, alternative string) (*kubeconfig.Resolved, error) {
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("--kubeconfig %s: no such file; give the path of a kubeconfig file naming the apiserver, or %s", path, alternative)
		}
		return nil, fmt.Errorf("--kubeconfig %s: %w", path, err)
	}
	cfg, err := kubeconfig.Load(path)
	if err != nil {
		return nil, fmt.Errorf("--kubeconfig %s: %w", path, err)
	}
	r, err := cfg.Resolve("", masterOverride)
	if err != nil {
		return nil, fmt.Errorf("--kubeconfig %s: %w", path, err)
	}
	if r.ServerDefaulted && masterOverride == "" {
		return nil, fmt.Errorf("--kubeconfig %s names no server (current-context %q); add a cluster with a server to it, or %s",
			path, cfg.CurrentContext(), alternative)
	}
	return r, nil
}

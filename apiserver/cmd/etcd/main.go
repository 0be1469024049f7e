// Command etcd is a single-member etcd server for kube5 (bin/etcd, server/bin/etcd of the
// release), so `etcd --data-dir=/var/lib/etcd & kube-apiserver --etcd-servers=...` works
// on a machine without an etcd package. It is upstream etcd's own server (embed.Etcd, the
// version kube-apiserver links), behind upstream's flag names for the basics: --name,
// --data-dir, --listen-client-urls, --advertise-client-urls, --listen-peer-urls,
// --initial-advertise-peer-urls, --initial-cluster, --log-level, --unsafe-no-fsync.
// Clustering beyond one member, TLS and the rest of etcd's flags are not offered: run
// upstream's etcd for those.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/pflag"
	"go.etcd.io/etcd/server/v3/embed"
	"k8s.io/klog/v2"

	"kube5/proto/daemon"
)

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	fs := pflag.NewFlagSet("etcd", pflag.ContinueOnError)
	o := newOptions()
	o.addFlags(fs)
	daemon.AddVersionFlag(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(os.Stderr, "etcd: %v (see etcd --help)\n", err)
		return 2
	}
	daemon.PrintVersionAndExitIfRequested(fs)
	cfg, err := o.config()
	if err != nil {
		fmt.Fprintf(os.Stderr, "etcd: %v\n", err)
		return 2
	}
	ctx := daemon.SignalContext()
	if err := serve(ctx, cfg); err != nil {
		klog.ErrorS(err, "etcd failed")
		klog.Flush()
		return 1
	}
	klog.Flush()
	return 0
}

// serve runs the member until ctx ends (SIGINT, SIGTERM) or it fails.
func serve(ctx context.Context, cfg *embed.Config) error {
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return fmt.Errorf("starting with --data-dir=%s: %w", cfg.Dir, err)
	}
	defer e.Close()
	select {
	case <-e.Server.ReadyNotify():
		klog.InfoS("etcd serves clients", "name", cfg.Name, "dataDir", cfg.Dir, "clientURLs", urls(e))
	case err := <-e.Err():
		return fmt.Errorf("failed while starting: %w", err)
	case <-time.After(5 * time.Minute):
		// A lone member elects itself within seconds; this means a broken --initial-cluster.
		return errors.New("not ready after 5m: check --initial-cluster and --initial-advertise-peer-urls")
	case <-ctx.Done():
		return nil
	}
	select {
	case err := <-e.Err():
		return err
	case <-ctx.Done():
		klog.InfoS("Stopping etcd")
		return nil
	}
}

func urls(e *embed.Etcd) []string {
	var out []string
	for _, l := range e.Clients {
		out = append(out, "http://"+l.Addr().String())
	}
	return out
}

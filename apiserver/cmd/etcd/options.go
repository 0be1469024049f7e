package main

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/spf13/pflag"
	"go.etcd.io/etcd/server/v3/embed"
)

// options are upstream etcd's flags, with its defaults.
type options struct {
	name, dataDir                        string
	listenClient, advertiseClient        []string
	listenPeer, initialAdvertisePeer     []string
	initialCluster, logLevel             string
	unsafeNoFsync                        bool
	quotaBackendBytes, snapshotCount     int64
	heartbeatIntervalMs, electionTimeout uint
}

func newOptions() *options {
	return &options{
		name:                 "default",
		listenClient:         []string{"http://localhost:2379"},
		advertiseClient:      []string{"http://localhost:2379"},
		listenPeer:           []string{"http://localhost:2380"},
		initialAdvertisePeer: []string{"http://localhost:2380"},
		logLevel:             "info",
		heartbeatIntervalMs:  100,
		electionTimeout:      1000,
	}
}

func (o *options) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.name, "name", o.name, "Human-readable name for this member.")
	fs.StringVar(&o.dataDir, "data-dir", o.dataDir, "Path to the data directory (default \"${name}.etcd\").")
	fs.StringSliceVar(&o.listenClient, "listen-client-urls", o.listenClient, "List of URLs to listen on for client traffic.")
	fs.StringSliceVar(&o.advertiseClient, "advertise-client-urls", o.advertiseClient, "List of this member's client URLs to advertise to the public.")
	fs.StringSliceVar(&o.listenPeer, "listen-peer-urls", o.listenPeer, "List of URLs to listen on for peer traffic.")
	fs.StringSliceVar(&o.initialAdvertisePeer, "initial-advertise-peer-urls", o.initialAdvertisePeer, "List of this member's peer URLs to advertise to the rest of the cluster.")
	fs.StringVar(&o.initialCluster, "initial-cluster", o.initialCluster, "Initial cluster configuration for bootstrapping (default \"${name}=${initial-advertise-peer-urls}\"); one member only.")
	fs.StringVar(&o.logLevel, "log-level", o.logLevel, "Configures log level. Only supports debug, info, warn, error, panic, or fatal.")
	fs.BoolVar(&o.unsafeNoFsync, "unsafe-no-fsync", o.unsafeNoFsync, "Disables fsync, unsafe, will cause data loss.")
	fs.Int64Var(&o.quotaBackendBytes, "quota-backend-bytes", o.quotaBackendBytes, "Raise alarms when backend size exceeds the given quota (0 defaults to low space quota).")
	fs.Int64Var(&o.snapshotCount, "snapshot-count", o.snapshotCount, "Number of committed transactions to trigger a snapshot to disk (0: etcd's default).")
	fs.UintVar(&o.heartbeatIntervalMs, "heartbeat-interval", o.heartbeatIntervalMs, "Time (in milliseconds) of a heartbeat interval.")
	fs.UintVar(&o.electionTimeout, "election-timeout", o.electionTimeout, "Time (in milliseconds) for an election to timeout.")
}

// config turns the flags into embed's configuration; errors name the flag to fix.
func (o *options) config() (*embed.Config, error) {
	cfg := embed.NewConfig()
	cfg.Name = o.name
	cfg.Dir = o.dataDir
	if cfg.Dir == "" {
		cfg.Dir = o.name + ".etcd" // upstream's default
	}
	var err error
	for _, f := range []struct {
		flag string
		in   []string
		out  *[]url.URL
	}{
		{"--listen-client-urls", o.listenClient, &cfg.ListenClientUrls},
		{"--advertise-client-urls", o.advertiseClient, &cfg.AdvertiseClientUrls},
		{"--listen-peer-urls", o.listenPeer, &cfg.ListenPeerUrls},
		{"--initial-advertise-peer-urls", o.initialAdvertisePeer, &cfg.AdvertisePeerUrls},
	} {
		if *f.out, err = parseURLs(f.flag, f.in); err != nil {
			return nil, err
		}
	}
	cfg.InitialCluster = o.initialCluster
	if cfg.InitialCluster == "" {
		cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	}
	if strings.Contains(cfg.InitialCluster, ",") {
		return nil, fmt.Errorf("--initial-cluster %q names several members: kube5's etcd runs one; use upstream's etcd for a cluster", cfg.InitialCluster)
	}
	switch o.logLevel {
	case "debug", "info", "warn", "error", "panic", "fatal":
	default:
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn, error, panic or fatal", o.logLevel)
	}
	cfg.Logger, cfg.LogLevel, cfg.LogOutputs = "zap", o.logLevel, []string{"stderr"}
	cfg.UnsafeNoFsync = o.unsafeNoFsync
	cfg.QuotaBackendBytes = o.quotaBackendBytes
	if o.snapshotCount > 0 {
		cfg.SnapshotCount = uint64(o.snapshotCount)
	}
	cfg.TickMs, cfg.ElectionMs = o.heartbeatIntervalMs, o.electionTimeout
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid configuration: %w", err)
	}
	return cfg, nil
}

func parseURLs(flag string, in []string) ([]url.URL, error) {
	var out []url.URL
	for _, s := range in {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "unix") || u.Host == "" {
			return nil, fmt.Errorf("%s: %q is not a URL like http://127.0.0.1:2379 (kube5's etcd serves plain http)", flag, s)
		}
		out = append(out, *u)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: at least one URL is needed", flag)
	}
	return out, nil
}

// Package iptablesproxy is kube-proxy's iptables mode, after upstream's iptables proxier:
// Service and Endpoints events go to a change tracker, one bounded-frequency runner syncs
// them to the nat and filter tables with iptables-restore --noflush, writing only the
// chains that changed, and a periodic full sync rewrites everything to repair outside
// edits. Only KUBE-* chains and the jumps into them are touched, so Docker's chains and
// the user's rules survive.
package iptablesproxy

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/klog/v2"

	"kube5/proxy/internal/conntrack"
	"kube5/proxy/internal/iptables"
	"kube5/proxy/internal/metrics"
	"kube5/proxy/internal/proxy"
	"kube5/proxy/internal/runner"
)

// Config configures a Proxier.
type Config struct {
	IPTables iptables.Interface
	// ClusterCIDR is --cluster-cidr: traffic to a ClusterIP from outside it is
	// masqueraded so replies come back through this node. "" disables that rule.
	ClusterCIDR string
	// MasqueradeBit is the fwmark bit (upstream default 14, 0x4000).
	MasqueradeBit int
	// MinSyncPeriod batches changes (--iptables-min-sync-period); SyncPeriod is the full
	// resync period (--iptables-sync-period).
	MinSyncPeriod, SyncPeriod time.Duration
	// ChainsPerTransaction bounds chains per restore transaction (default 1000).
	ChainsPerTransaction int
	// Conntrack deletes the UDP/SCTP conntrack entries a sync left stale; nil: none are
	// deleted (unit tests of the rules).
	Conntrack conntrack.Interface
	Metrics   *metrics.Metrics
	Health    *metrics.Health
}

// Proxier programs iptables from a Tracker.
type Proxier struct {
	cfg     Config
	render  renderConfig
	Tracker *proxy.Tracker
	runner  *runner.BoundedFrequency

	mu sync.Mutex // serializes syncs
	// ports is what was last written for each service port: partial syncs diff the
	// changed ports' new rules against it, so their cost is the change, not the cluster.
	ports       map[proxy.ServicePortName]*ruleset
	portsByName map[proxy.NamespacedName][]proxy.ServicePortName
	// proxied is the service port and endpoints each written ruleset was rendered from;
	// the difference to the tracker's current state is what leaves conntrack entries
	// stale. It moves with ports, only after a successful restore, so a failed sync's
	// changes are found again by the next one.
	proxied map[proxy.ServicePortName]conntrack.Proxied
	// staleConntrack is what the last restores left stale and is not deleted yet.
	staleConntrack []conntrack.Filter
	needFullSync   bool
	needSave       bool // read iptables-save to find stale chains left by someone else
	lastFullSync   time.Time
	// lastFullDuration stretches the full-sync interval in big clusters; see
	// fullSyncInterval.
	lastFullDuration time.Duration
	lastPlan         *plan
}

// New returns a proxier; call Run to start syncing.
func New(cfg Config) *Proxier {
	if cfg.MasqueradeBit == 0 {
		cfg.MasqueradeBit = 14
	}
	if cfg.ChainsPerTransaction <= 0 {
		cfg.ChainsPerTransaction = 1000
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.New(nil)
	}
	if cfg.Health == nil {
		cfg.Health = metrics.NewHealth(2 * max(cfg.SyncPeriod, time.Second))
	}
	p := &Proxier{
		cfg:          cfg,
		render:       renderConfig{clusterCIDR: cfg.ClusterCIDR, masqMark: proxy.MaskString(cfg.MasqueradeBit)},
		Tracker:      proxy.NewTracker(),
		ports:        map[proxy.ServicePortName]*ruleset{},
		portsByName:  map[proxy.NamespacedName][]proxy.ServicePortName{},
		proxied:      map[proxy.ServicePortName]conntrack.Proxied{},
		needFullSync: true,
		needSave:     true,
	}
	p.runner = runner.New("iptables-sync", p.SyncOnce, cfg.MinSyncPeriod, cfg.SyncPeriod)
	return p
}

// Changed tells the proxier that the tracker has news; the sync runs within the min
// sync period.
func (p *Proxier) Changed() {
	p.cfg.Health.QueuedUpdate()
	p.runner.Run()
}

// fullSyncInterval is --iptables-sync-period, stretched to ten times the last full sync's
// duration: a full sync rewrites every chain, and iptables-nft takes ~10s for that at
// 10k services (the kernel revalidates the whole jump graph per transaction), so a
// 30s period would keep kube-proxy rewriting a third of the time. The periodic runs in
// between are partial syncs, which cost only what changed.
func (p *Proxier) fullSyncInterval() time.Duration {
	return max(p.cfg.SyncPeriod, 10*p.lastFullDuration)
}

// RequestFullSync makes the next sync a full one (benchmarks; an operator's repair).
func (p *Proxier) RequestFullSync() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.needFullSync = true
}

// Run syncs until ctx ends.
func (p *Proxier) Run(ctx context.Context) { p.runner.Loop(ctx) }

// SyncOnce applies pending changes now (tests and benchmarks call it directly).
func (p *Proxier) SyncOnce() {
	if !p.Tracker.Synced() {
		klog.V(2).InfoS("Not syncing iptables until Services and Endpoints have been received")
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	start := time.Now()
	full := p.needFullSync || time.Since(p.lastFullSync) >= p.fullSyncInterval()
	changed := p.Tracker.Apply()
	err := p.sync(full, changed)
	elapsed := time.Since(start)
	p.cfg.Metrics.SyncDuration.Observe(elapsed.Seconds())
	if full {
		p.cfg.Metrics.FullSyncDuration.Observe(elapsed.Seconds())
	} else {
		p.cfg.Metrics.PartialSyncDuration.Observe(elapsed.Seconds())
	}
	if err != nil {
		klog.ErrorS(err, "Failed to sync iptables rules; will do a full sync", "full", full)
		p.cfg.Metrics.RestoreFailures.Inc()
		p.needFullSync, p.needSave = true, true
		p.runner.Run() // retried after the min sync period
		return
	}
	now := time.Now()
	for _, t := range changed {
		p.cfg.Metrics.ProgrammingLatency.Observe(now.Sub(t).Seconds())
	}
	p.cfg.Metrics.LastSync.SetToCurrentTime()
	p.cfg.Health.Updated(start)
	if full {
		p.needFullSync, p.needSave = false, false
		p.lastFullSync = start
		p.lastFullDuration = elapsed
	}
	klog.V(2).InfoS("Synced iptables rules", "full", full, "elapsed", elapsed, "services", len(p.Tracker.Services),
		"chainsWritten", p.lastPlan.chainsWritten, "chainsDeleted", p.lastPlan.chainsDeleted, "topEdits", p.lastPlan.topEdits)
}

func (p *Proxier) sync(full bool, changed map[proxy.NamespacedName]time.Time) error {
	t0 := time.Now()
	// The service ports to render: all on a full sync, else those of changed Services
	// (as they were, to remove, and as they are, to add).
	var names []proxy.ServicePortName
	seen := map[proxy.ServicePortName]bool{}
	addName := func(n proxy.ServicePortName) {
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	if full {
		for n := range p.Tracker.Services {
			addName(n)
		}
		for n := range p.ports {
			addName(n)
		}
	} else {
		for nn := range changed {
			for _, n := range p.portsByName[nn] {
				addName(n)
			}
			for _, n := range p.Tracker.PortsOf(nn) {
				addName(n)
			}
		}
	}
	want, per := renderPorts(names, p.Tracker.Services, p.Tracker.Endpoints, p.render)
	prev := newRuleset()
	for _, n := range names {
		if rs, ok := p.ports[n]; ok {
			prev.merge(rs)
		}
	}
	t1 := time.Now()
	stale := map[iptables.Chain]bool{}
	if full && p.needSave {
		// Chains of an earlier kube-proxy (or of a failed partial restore) are known only
		// to the kernel.
		var buf bytes.Buffer
		if err := p.cfg.IPTables.SaveInto(iptables.TableNAT, &buf); err != nil {
			return err
		}
		for c := range iptables.ChainsInSave(buf.Bytes()) {
			if ownedChain(c) {
				stale[c] = true
			}
		}
	}
	pl := buildPlan(want, prev, full, stale, p.render, p.cfg.ChainsPerTransaction)
	p.lastPlan = pl
	t2 := time.Now()
	if len(pl.data) > 0 {
		klog.V(5).InfoS("Restoring iptables rules", "rules", string(pl.data))
		if err := p.cfg.IPTables.Restore(pl.data); err != nil {
			return err
		}
	}
	t3 := time.Now()
	for _, n := range names {
		nn := n.NamespacedName
		p.portsByName[nn] = slices.DeleteFunc(p.portsByName[nn], func(x proxy.ServicePortName) bool { return x == n })
		now := conntrack.Proxied{}
		if rs, ok := per[n]; ok {
			p.ports[n] = rs
			p.portsByName[nn] = append(p.portsByName[nn], n)
			now = conntrack.Proxied{Port: p.Tracker.Services[n], Endpoints: p.Tracker.Endpoints[n]}
		} else {
			delete(p.ports, n)
		}
		if conntrack.Cleaned(n.Protocol) {
			p.staleConntrack = append(p.staleConntrack, conntrack.StaleFilters(p.proxied[n], now)...)
			if now.Port != nil {
				p.proxied[n] = now
			} else {
				delete(p.proxied, n)
			}
		}
		if len(p.portsByName[nn]) == 0 {
			delete(p.portsByName, nn)
		}
	}
	klog.V(3).InfoS("Sync phases", "render", t1.Sub(t0), "plan", t2.Sub(t1), "restore", t3.Sub(t2), "bytes", len(pl.data))
	if full {
		if err := ensureJumps(p.cfg.IPTables); err != nil {
			return err
		}
	}
	p.countRules()
	p.deleteStaleConntrack()
	return nil
}

// deleteStaleConntrack deletes the conntrack entries the restores left stale, after the
// rules are in place: deleted any earlier, a client's next datagram could make a new
// entry from the old rules. A failure is logged and not retried, as upstream: the
// entries then last until the client is silent for the UDP timeout (30s, 120s once
// the flow saw replies both ways).
func (p *Proxier) deleteStaleConntrack() {
	filters := p.staleConntrack
	p.staleConntrack = nil
	if len(filters) == 0 || p.cfg.Conntrack == nil {
		return
	}
	start := time.Now()
	n, err := p.cfg.Conntrack.Delete(filters)
	if err != nil {
		klog.ErrorS(err, "Deleting stale conntrack entries failed; UDP clients of the changed services may reach removed endpoints until their entries time out",
			"filters", len(filters), "deleted", n)
		return
	}
	klog.V(2).InfoS("Deleted stale conntrack entries", "entries", n, "filters", len(filters), "elapsed", time.Since(start))
	if klogV := klog.V(4); klogV.Enabled() {
		for _, f := range filters {
			klogV.InfoS("Conntrack filter", "filter", f.String())
		}
	}
}

// ensureJumps adds the rules leading from the built-in chains into ours; the full sync
// repeats it so a deleted jump comes back within a sync period.
func ensureJumps(ipt iptables.Interface) error {
	for _, j := range jumpRules {
		pos := iptables.Prepend
		if _, err := ipt.EnsureRule(pos, j.table, j.from, j.args...); err != nil {
			return fmt.Errorf("ensuring jump from %s/%s: %w", j.table, j.from, err)
		}
	}
	return nil
}

func (p *Proxier) countRules() {
	counts := map[iptables.Table]int{}
	for _, rs := range p.ports {
		for _, rules := range rs.chains {
			counts[iptables.TableNAT] += len(rules)
		}
		for id, rules := range rs.top {
			counts[id.table] += len(rules)
		}
	}
	for _, id := range append(append([]chainID(nil), staticChains...), topChains...) {
		counts[id.table] += len(staticRules(id, p.render))
	}
	for t, n := range counts {
		p.cfg.Metrics.RulesTotal.WithLabelValues(string(t)).Set(float64(n))
	}
}

// Cleanup removes every rule and chain either proxy mode added (kube-proxy --cleanup, and
// a switch of --proxy-mode): the jumps from the built-in chains, then KUBE-* chains.
// extraJumps and extraChains are other modes' (userspace, pod network) to remove too.
func Cleanup(ipt iptables.Interface, extraJumps []JumpRule, extraChains []ChainRef) error {
	var errs []string
	for _, j := range jumpRules {
		if err := ipt.DeleteRule(j.table, j.from, j.args...); err != nil {
			errs = append(errs, err.Error())
		}
	}
	for _, j := range extraJumps {
		if err := ipt.DeleteRule(j.Table, j.From, j.Args...); err != nil {
			errs = append(errs, err.Error())
		}
	}
	for _, table := range []iptables.Table{iptables.TableNAT, iptables.TableFilter} {
		var buf bytes.Buffer
		if err := ipt.SaveInto(table, &buf); err != nil {
			errs = append(errs, err.Error())
			continue
		}
		existing := iptables.ChainsInSave(buf.Bytes())
		var del []iptables.Chain
		for c := range existing {
			if table == iptables.TableNAT && ownedChain(c) {
				del = append(del, c)
			}
		}
		named := append(append([]chainID(nil), topChains...), staticChains...)
		for _, x := range extraChains {
			named = append(named, chainID{x.Table, x.Chain})
		}
		for _, id := range named {
			if id.table == table && existing[id.chain] && !slices.Contains(del, id.chain) {
				del = append(del, id.chain)
			}
		}
		if len(del) == 0 {
			continue
		}
		var in bytes.Buffer
		in.WriteString("*" + string(table) + "\n")
		for _, c := range del {
			in.WriteString(":" + string(c) + " - [0:0]\n")
		}
		for _, c := range del {
			in.WriteString("-X " + string(c) + "\n")
		}
		in.WriteString("COMMIT\n")
		if err := ipt.Restore(in.Bytes()); err != nil {
			errs = append(errs, fmt.Sprintf("%v; input:\n%s", err, in.String()))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("cleanup: %s", strings.Join(errs, "; "))
	}
	return nil
}

// JumpRule is a rule in a built-in chain leading to a chain of another component of
// kube-proxy (userspace portals, pod network), for Cleanup.
type JumpRule struct {
	Table iptables.Table
	From  iptables.Chain
	Args  []string
}

// ChainRef names a chain for Cleanup.
type ChainRef struct {
	Table iptables.Table
	Chain iptables.Chain
}

// Package bench holds kube-proxy's benchmarks (make bench): iptables sync time at 1k,
// 5k and 10k services against a real iptables-restore in a network namespace, and
// throughput through a ClusterIP beside the same backend reached directly, in one run.
package bench

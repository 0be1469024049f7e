// Package e2e holds kube5's end-to-end tests: they start the built binaries as processes
// with the harness of kube5/e2e/framework (real etcd, real Docker, real iptables) and drive
// the cluster through bin/kubectl. They run one at a time (one kube-proxy per host).
package e2e

// Package e2e will hold the cluster harness and end-to-end tests that start the built
// binaries as processes (issue 7).
package e2e

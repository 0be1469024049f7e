//go:build !unix

package logs

import "kube5/proto/remotecommand"

// watchResize sends the size once: there is no SIGWINCH to follow changes by.
func watchResize(fd int) (<-chan remotecommand.Resize, func()) {
	ch := make(chan remotecommand.Resize)
	close(ch)
	return ch, func() {}
}

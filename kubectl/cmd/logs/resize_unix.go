//go:build unix

package logs

import (
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"

	"kube5/proto/remotecommand"
)

// watchResize sends the terminal's size now and after every SIGWINCH, so full-screen
// programs in the container redraw at the right size. stop ends it.
func watchResize(fd int) (<-chan remotecommand.Resize, func()) {
	ch := make(chan remotecommand.Resize, 1)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGWINCH)
	done := make(chan struct{})
	send := func() {
		w, h, err := term.GetSize(fd)
		if err != nil {
			return
		}
		select {
		case ch <- remotecommand.Resize{Width: uint16(w), Height: uint16(h)}:
		case <-done:
		}
	}
	go func() {
		defer close(ch)
		send()
		for {
			select {
			case <-sig:
				send()
			case <-done:
				return
			}
		}
	}()
	return ch, func() { signal.Stop(sig); close(done) }
}

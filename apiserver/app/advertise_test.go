package app

import "testing"

// TestAdvertiseAddress: the flag wins, then a bind address pods can reach; with a
// loopback or wildcard bind the host's own address is used, never loopback.
func TestAdvertiseAddress(t *testing.T) {
	if got := advertiseAddress("192.0.2.5", "10.1.2.3").String(); got != "192.0.2.5" {
		t.Errorf("flag given: got %s, want 192.0.2.5", got)
	}
	if got := advertiseAddress("", "10.1.2.3").String(); got != "10.1.2.3" {
		t.Errorf("bind address 10.1.2.3: got %s, want it", got)
	}
	for _, bind := range []string{"127.0.0.1", "0.0.0.0"} {
		got := advertiseAddress("", bind)
		if got.IsValid() && (got.IsLoopback() || got.IsUnspecified()) {
			t.Errorf("bind %s: advertised %s, which pods cannot reach", bind, got)
		}
	}
}

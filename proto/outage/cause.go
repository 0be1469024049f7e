package outage

import "strings"

// causes are the network failures a user can act on, as Go's net package and gRPC spell
// them inside longer messages ("connection error: desc = \"transport: Error while
// dialing: dial tcp 127.0.0.1:1: connect: connection refused\""). Order matters: the
// first match wins.
var causes = []struct{ match, cause string }{
	{"connection refused", "connection refused"},
	{"no such host", "no such host"},
	{"i/o timeout", "timed out"},
	{"deadline exceeded", "timed out"},
	{"no route to host", "no route to host"},
	{"network is unreachable", "network is unreachable"},
	{"connection reset", "connection reset"},
	{"permission denied", "permission denied"},
	{"certificate", "TLS certificate problem"},
	{"tls:", "TLS problem"},
	{"http2: frame too large", "the server does not speak gRPC (wrong port?)"},
	{"error reading server preface", "the server does not speak gRPC (wrong port?)"},
	{"EOF", "connection closed"},
}

// Cause shortens a connection error to the part a user acts on: "connection refused",
// "no such host", "timed out", ... An error it does not recognise is returned whole, so
// nothing is hidden.
func Cause(err error) string {
	if err == nil {
		return ""
	}
	msg := err.Error()
	for _, c := range causes {
		if strings.Contains(msg, c.match) {
			return c.cause
		}
	}
	return msg
}

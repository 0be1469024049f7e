// Package version holds the build's version, stamped by the Makefile with -ldflags, and
// served by every binary (kube-apiserver /version, kubectl version, --version flags).
package version

import "runtime"

// Set through -ldflags -X by the Makefile.
var (
	gitVersion = "v0.0.0-dev"
	gitCommit  = "unknown"
	buildDate  = "1970-01-01T00:00:00Z"
)

// Info mirrors upstream's version.Info JSON.
type Info struct {
	Major        string `json:"major"`
	Minor        string `json:"minor"`
	GitVersion   string `json:"gitVersion"`
	GitCommit    string `json:"gitCommit"`
	GitTreeState string `json:"gitTreeState"`
	BuildDate    string `json:"buildDate"`
	GoVersion    string `json:"goVersion"`
	Compiler     string `json:"compiler"`
	Platform     string `json:"platform"`
}

// Get returns the version of this binary.
func Get() Info {
	// Major/Minor name the upstream API level kube5 follows, so clients that gate features
	// on the server version (kubectl, client-go) treat us as that release.
	return Info{
		Major:        "1",
		Minor:        "31",
		GitVersion:   gitVersion,
		GitCommit:    gitCommit,
		GitTreeState: "clean",
		BuildDate:    buildDate,
		GoVersion:    runtime.Version(),
		Compiler:     runtime.Compiler,
		Platform:     runtime.GOOS + "/" + runtime.GOARCH,
	}
}

// String is the one-line form printed by --version.
func (i Info) String() string { return "Kubernetes " + i.GitVersion + " (kube5, " + i.GitCommit + ")" }

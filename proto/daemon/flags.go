// Package daemon is the start-up plumbing every kube5 daemon repeats: klog and --version
// flags, a signal-cancelled context, the /healthz + /metrics server, and the --master /
// --kubeconfig pair that says where the apiserver is.
package daemon

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
	"k8s.io/klog/v2"

	"kube5/proto/version"
)

// AddGlobalFlags adds klog's flags to fs under upstream's names: -v/--v, --vmodule,
// --logtostderr (default true), --alsologtostderr, --log-file, --log-dir, --stderrthreshold,
// --skip-headers, ... klog declares them as Go flags with underscores (log_file); they are
// bridged into pflag with dashes, the spelling upstream components print in --help. A flag
// fs already has is left alone, so calling this twice is harmless.
func AddGlobalFlags(fs *pflag.FlagSet) {
	gfs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(gfs)
	gfs.VisitAll(func(gf *flag.Flag) {
		pf := pflag.PFlagFromGoFlag(gf) // shares gf.Value, so setting pf configures klog
		pf.Name = strings.ReplaceAll(gf.Name, "_", "-")
		if fs.Lookup(pf.Name) != nil {
			return
		}
		if pf.Shorthand != "" && fs.ShorthandLookup(pf.Shorthand) != nil {
			pf.Shorthand = ""
		}
		fs.AddFlag(pf)
	})
}

// WordSepNormalizeFunc makes --log_file and --log-file the same flag, as upstream's
// cliflag.WordSepNormalizeFunc; set it with fs.SetNormalizeFunc to accept old spellings.
func WordSepNormalizeFunc(_ *pflag.FlagSet, name string) pflag.NormalizedName {
	return pflag.NormalizedName(strings.ReplaceAll(name, "_", "-"))
}

// versionValue is upstream verflag's tri-state: false, true (the one-line form) or raw.
type versionValue string

const (
	versionFalse versionValue = "false"
	versionTrue  versionValue = "true"
	versionRaw   versionValue = "raw"
)

func (v *versionValue) String() string   { return string(*v) }
func (v *versionValue) Type() string     { return "version" }
func (v *versionValue) IsBoolFlag() bool { return true }
func (v *versionValue) Set(s string) error {
	if s == string(versionRaw) {
		*v = versionRaw
		return nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("want true, false or raw, got %q", s)
	}
	if b {
		*v = versionTrue
	} else {
		*v = versionFalse
	}
	return nil
}

// AddVersionFlag adds upstream's --version[=raw] flag to fs; the daemon then calls
// PrintVersionAndExitIfRequested after parsing.
func AddVersionFlag(fs *pflag.FlagSet) {
	v := versionFalse
	f := fs.VarPF(&v, "version", "", "--version, --version=raw prints version information and quits")
	f.NoOptDefVal = string(versionTrue)
}

// PrintVersionAndExitIfRequested prints version.Get() to stdout and exits 0 when fs's
// --version flag was given.
func PrintVersionAndExitIfRequested(fs *pflag.FlagSet) {
	if printVersion(fs, os.Stdout) {
		os.Exit(0)
	}
}

// printVersion writes the version if fs asks for it and reports whether it did.
func printVersion(fs *pflag.FlagSet, w io.Writer) bool {
	f := fs.Lookup("version")
	if f == nil {
		return false
	}
	switch versionValue(f.Value.String()) {
	case versionTrue:
		fmt.Fprintln(w, version.Get().String())
	case versionRaw:
		fmt.Fprintf(w, "%#v\n", version.Get())
	default:
		return false
	}
	return true
}

package bench

import (
	"flag"
	"os"
	"testing"

	"k8s.io/klog/v2"
)

// TestMain lets -v=N reach klog (the proxier logs its sync phases at 3).
func TestMain(m *testing.M) {
	fs := flag.NewFlagSet("klog", flag.ExitOnError)
	klog.InitFlags(fs)
	flag.Func("klog-v", "klog verbosity", func(v string) error { return fs.Set("v", v) })
	flag.Parse()
	os.Exit(m.Run())
}

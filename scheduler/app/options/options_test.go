package options

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestDefaultsAndFlags(t *testing.T) {
	o := New()
	fs := pflag.NewFlagSet("kube-scheduler", pflag.ContinueOnError)
	o.AddFlags(fs)
	for flag, want := range map[string]string{
		"scheduler-name": "default-scheduler", "bind-address": "0.0.0.0", "port": "10251", "secure-port": "10251",
		"leader-elect": "true", "leader-elect-lease-duration": "15s", "leader-elect-renew-deadline": "10s",
		"leader-elect-retry-period": "2s", "master": "", "kubeconfig": "",
	} {
		f := fs.Lookup(flag)
		if f == nil {
			t.Errorf("--%s missing", flag)
			continue
		}
		if f.DefValue != want {
			t.Errorf("--%s default %q, want %q", flag, f.DefValue, want)
		}
	}
	if err := fs.Parse([]string{"--master=http://127.0.0.1:8080", "--leader-elect=false", "--scheduler-name=mine", "--secure-port=0"}); err != nil {
		t.Fatal(err)
	}
	if o.Master.Master != "http://127.0.0.1:8080" || o.LeaderElect || o.SchedulerName != "mine" || o.Port != 0 {
		t.Errorf("parsed %+v", o)
	}
	if errs := o.Validate(); len(errs) != 0 {
		t.Errorf("valid options rejected: %v", errs)
	}
}

func TestValidateNamesTheFlag(t *testing.T) {
	for _, c := range []struct {
		mod  func(*Options)
		flag string
	}{
		{func(o *Options) { o.Master.Master = "" }, "--master"},
		{func(o *Options) { o.SchedulerName = "" }, "--scheduler-name"},
		{func(o *Options) { o.BindAddress = "localhost" }, "--bind-address"},
		{func(o *Options) { o.Port = 70000 }, "--port"},
		{func(o *Options) { o.LeaseDuration = 5 * time.Second }, "--leader-elect-lease-duration"},
		{func(o *Options) { o.RetryPeriod = 9 * time.Second }, "--leader-elect-retry-period"},
		{func(o *Options) { o.PercentageOfNodesToScore = 101 }, "--percentage-of-nodes-to-score"},
	} {
		o := New()
		o.Master.Master = "http://127.0.0.1:8080"
		c.mod(o)
		errs := o.Validate()
		if len(errs) == 0 || !strings.Contains(errs[0].Error(), c.flag) {
			t.Errorf("want an error naming %s, got %v", c.flag, errs)
		}
	}
	o := New()
	o.Master.Master = "http://127.0.0.1:8080"
	o.LeaderElect, o.LeaseDuration = false, time.Second // timings do not matter without election
	if errs := o.Validate(); len(errs) != 0 {
		t.Errorf("got %v", errs)
	}
}

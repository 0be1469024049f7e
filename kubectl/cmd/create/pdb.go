package create

import (
	"fmt"
	"regexp"
	"strconv"

	"github.com/spf13/cobra"

	"kube5/kubectl/internal/connection"
	"kube5/proto/labels"
)

// intOrPercent matches what upstream accepts for --min-available/--max-unavailable: a
// number or a percentage ("10", "50%"), not "10Gb".
var intOrPercent = regexp.MustCompile(`^[0-9]+%?$`)

// pdbCmd is upstream's `kubectl create poddisruptionbudget` (alias pdb).
func pdbCmd(f *connection.Flags, s connection.Streams) *cobra.Command {
	c := &common{failedTo: "failed to create poddisruptionbudgets"}
	var minAvailable, maxUnavailable, selector string
	cmd := &cobra.Command{
		Use:                   "poddisruptionbudget NAME --selector=SELECTOR --min-available=N [--dry-run=server|client|none]",
		DisableFlagsInUseLine: true,
		Aliases:               []string{"pdb"},
		Short:                 "Create a pod disruption budget with the specified name",
		Long:                  "Create a pod disruption budget with the specified name, selector, and desired minimum available pods.",
		Example: `  # Create a pod disruption budget named my-pdb that will select all pods with the app=rails label
  # and require at least one of them being available at any point in time
  kubectl create poddisruptionbudget my-pdb --selector=app=rails --min-available=1

  # Create a pod disruption budget named my-pdb that will select all pods with the app=nginx label
  # and require at least half of the pods selected to be available at any point in time
  kubectl create pdb my-pdb --selector=app=nginx --min-available=50%`,
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := nameArg(args, "poddisruptionbudget")
			if err != nil {
				return err
			}
			switch {
			case selector == "":
				return fmt.Errorf("a selector must be specified")
			case minAvailable == "" && maxUnavailable == "":
				return fmt.Errorf("one of min-available or max-unavailable must be specified")
			case minAvailable != "" && maxUnavailable != "":
				return fmt.Errorf("min-available and max-unavailable cannot be both specified")
			case minAvailable != "" && !intOrPercent.MatchString(minAvailable):
				return fmt.Errorf("invalid format specified for min-available")
			case maxUnavailable != "" && !intOrPercent.MatchString(maxUnavailable):
				return fmt.Errorf("invalid format specified for max-unavailable")
			}
			sel, err := labelSelector(selector)
			if err != nil {
				return err
			}
			spec := map[string]any{"selector": sel}
			if minAvailable != "" {
				spec["minAvailable"] = intOrString(minAvailable)
			} else {
				spec["maxUnavailable"] = intOrString(maxUnavailable)
			}
			obj := map[string]any{
				"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
				"metadata": map[string]any{"name": name},
				"spec":     spec,
			}
			return c.submit(cmd.Context(), f, s, mustLookup("poddisruptionbudgets.policy"), obj)
		},
	}
	c.addFlags(cmd)
	cmd.Flags().StringVar(&minAvailable, "min-available", "", "The minimum number or percentage of available pods this budget requires.")
	cmd.Flags().StringVar(&maxUnavailable, "max-unavailable", "", "The maximum number or percentage of unavailable pods this budget requires.")
	cmd.Flags().StringVar(&selector, "selector", "", "A label selector to use for this budget. Only equality-based selector requirements are supported.")
	return cmd
}

// intOrString is upstream's intstr.Parse: a number when it is one, else the string.
func intOrString(v string) any {
	if n, err := strconv.Atoi(v); err == nil {
		return n
	}
	return v
}

// labelSelector is upstream's metav1.ParseToLabelSelector: key=value requirements
// become matchLabels, set-based ones matchExpressions; != and numeric comparisons are
// refused.
func labelSelector(s string) (map[string]any, error) {
	sel, err := labels.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("couldn't parse the selector string \"%s\": %v", s, err)
	}
	reqs, _ := sel.Requirements()
	matchLabels := map[string]any{}
	var exprs []any
	for _, r := range reqs {
		var op string
		switch r.Operator() {
		case labels.Equals, labels.DoubleEquals:
			vals := r.Values()
			if len(vals) != 1 {
				return nil, fmt.Errorf("equals operator must have exactly one value")
			}
			matchLabels[r.Key()] = vals[0]
			continue
		case labels.In:
			op = "In"
		case labels.NotIn:
			op = "NotIn"
		case labels.Exists:
			op = "Exists"
		case labels.DoesNotExist:
			op = "DoesNotExist"
		default:
			return nil, fmt.Errorf("%q isn't supported in label selectors", string(r.Operator()))
		}
		e := map[string]any{"key": r.Key(), "operator": op}
		if vals := r.Values(); len(vals) > 0 {
			e["values"] = toAny(vals)
		}
		exprs = append(exprs, e)
	}
	out := map[string]any{}
	if len(matchLabels) > 0 {
		out["matchLabels"] = matchLabels
	}
	if len(exprs) > 0 {
		out["matchExpressions"] = exprs
	}
	return out, nil
}

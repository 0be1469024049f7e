package unstructured

import (
	"reflect"
	"strconv"
)

// MergePatch applies an RFC 7386 JSON merge patch to target and returns the result:
// null deletes a key, objects merge recursively, everything else (lists included)
// replaces. target is not modified.
func MergePatch(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return DeepCopy(patch)
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{}
	}
	out := DeepCopy(t).(map[string]any)
	for k, v := range p {
		if v == nil {
			delete(out, k)
			continue
		}
		out[k] = MergePatch(out[k], v)
	}
	return out
}

// ThreeWayMergePatch computes the merge patch client-side apply sends: fields of
// modified (the manifest now) that differ from current (the live object), plus null for
// every field that original (the last-applied manifest) had and modified dropped — so a
// field removed from the manifest is removed from the object, while fields set by others
// (defaults, controllers) and never in the manifest are left alone. Lists are compared
// and replaced whole, as JSON merge patch does.
func ThreeWayMergePatch(original, modified, current map[string]any) map[string]any {
	patch := map[string]any{}
	for k, mv := range modified {
		cv, inCurrent := current[k]
		mm, mIsMap := mv.(map[string]any)
		cm, cIsMap := cv.(map[string]any)
		if mIsMap && cIsMap {
			om, _ := original[k].(map[string]any)
			if sub := ThreeWayMergePatch(om, mm, cm); len(sub) > 0 {
				patch[k] = sub
			}
			continue
		}
		// A list is replaced whole when the manifest's differs from the last-applied
		// one: the live list also holds server defaults in its elements (upstream's
		// strategic merge merges those by key), so comparing with it would "change"
		// every list on every apply.
		if _, isList := mv.([]any); isList {
			if ov, ok := original[k]; ok && inCurrent && equalJSON(mv, ov) {
				continue
			}
		}
		if !inCurrent || !equalJSON(mv, cv) {
			patch[k] = mv
		}
	}
	for k := range original {
		if _, ok := modified[k]; ok {
			continue
		}
		if _, ok := current[k]; ok {
			patch[k] = nil
		}
	}
	return patch
}

// equalJSON compares decoded JSON values, treating numbers by their text.
func equalJSON(a, b any) bool {
	if reflect.DeepEqual(a, b) {
		return true
	}
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if !equalJSON(v, y[k]) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalJSON(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	if isNumber(a) && isNumber(b) {
		x, errX := strconv.ParseFloat(Scalar(a), 64)
		y, errY := strconv.ParseFloat(Scalar(b), 64)
		return errX == nil && errY == nil && x == y || Scalar(a) == Scalar(b)
	}
	return false
}

func isNumber(v any) bool {
	switch v.(type) {
	case float64, int, int64, int32:
		return true
	}
	_, ok := v.(interface{ Int64() (int64, error) })
	return ok
}

package simkit

import "testing"

func TestAppendJSONStringOrNull(t *testing.T) {
	t.Parallel()
	if got := string(AppendJSONStringOrNull(nil, "")); got != "null" {
		t.Errorf("empty → %s", got)
	}
	if got := string(AppendJSONStringOrNull(nil, "a")); got != `"a"` {
		t.Errorf("a → %s", got)
	}
}

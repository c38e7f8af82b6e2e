package logging

import "testing"

// TestFieldName pins the journal fields the package doc, the oneshot's
// message ("full text in the journal field BPFUNIT_VERIFIER_LOG") and
// admins' `journalctl BPFUNIT_UNIT=...` rely on.
func TestFieldName(t *testing.T) {
	for key, want := range map[string]string{
		"unit":         "BPFUNIT_UNIT",
		"prog_id":      "BPFUNIT_PROG_ID",
		"link":         "BPFUNIT_LINK",
		"target":       "BPFUNIT_TARGET",
		"verifier_log": "BPFUNIT_VERIFIER_LOG",
		"a.b-c":        "BPFUNIT_A_B_C",
		"9x":           "BPFUNIT_9X",
	} {
		if got := fieldName(key); got != want {
			t.Errorf("fieldName(%q) = %s, want %s", key, got, want)
		}
	}
}

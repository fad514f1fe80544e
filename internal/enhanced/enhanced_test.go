package enhanced

import "testing"

func TestStatus(t *testing.T) {
	for _, tt := range []struct {
		code            int
		status          string
		defCode         int
		defStatus, want string
	}{
		{535, "5.7.8", 235, "2.7.0", "5.7.8"}, // given
		{535, "", 235, "2.7.0", "5.0.0"},      // another class: generic
		{250, "", 250, "2.1.0", "2.1.0"},      // the default's
		{250, "", 250, "", ""},                // EHLO, HELO, the greeting: none
		{354, "", 354, "", ""},                // 3yz: none
		{421, "", 250, "2.0.0", "4.0.0"},
		{199, "", 250, "2.0.0", ""},
		{600, "", 250, "2.0.0", ""},
	} {
		if got := Status(tt.code, tt.status, tt.defCode, tt.defStatus); got != tt.want {
			t.Errorf("Status(%d, %q, %d, %q) = %q, want %q", tt.code, tt.status, tt.defCode, tt.defStatus, got, tt.want)
		}
	}
}

package cli

import (
	"os/user"
	"testing"
)

// TestWhoAmI: an override is signed by $USER, or by the login name where a
// service runs without $USER, never left anonymous when the system knows.
func TestWhoAmI(t *testing.T) {
	t.Setenv("USER", "ops")
	if got := whoAmI(); got != "ops" {
		t.Errorf("with $USER: %q", got)
	}
	t.Setenv("USER", "")
	u, err := user.Current()
	if err != nil {
		t.Skipf("no login name here: %v", err)
	}
	if got := whoAmI(); got != u.Username || got == "" {
		t.Errorf("without $USER: %q, want %q", got, u.Username)
	}
}

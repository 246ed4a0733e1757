//go:build !linux

package pluginhost

import "os/exec"

// isolate is a no-op where the kernel offers no parent-death signal; plugins
// built with the SDK notice their parent's death on their own.
func isolate(*exec.Cmd) {}

package pluginhost

import (
	"os/exec"
	"syscall"
)

// isolate puts the plugin in its own process group, so a Ctrl-C meant for the
// host does not reach plugins before the host has stopped them in order, and
// asks the kernel to SIGKILL it if the host dies first. Pdeathsig fires when
// the thread that forked exits; the Go runtime only retires threads locked
// with LockOSThread, which the host never does. Plugins built with the SDK
// also watch for their parent's death themselves, as a second line.
func isolate(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

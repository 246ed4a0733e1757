package wiring

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestExamplesCopyOut does what each example's README says to start with:
// copy the directory into a module of one's own that requires moderator's
// SDK, tidy it, and run its tests there. It fails for an example whose
// tests need more of this repository than the SDK (shouting's tests used to
// build the moderator host by its package path, which a copy's go.sum does
// not cover), or whose code imports anything of moderator but sdk/.
//
// It runs offline (GOPROXY=off), from the module cache this repository's
// own build filled.
func TestExamplesCopyOut(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and tests each example in a module of its own")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	goVersion := goDirective(t, filepath.Join(root, "go.mod"))
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	for _, example := range []string{"shouting", "forum"} {
		t.Run(example, func(t *testing.T) {
			mod := t.TempDir()
			copyDir(t, filepath.Join(root, "examples", example), filepath.Join(mod, example))
			gomod := "module example.com/mine\n\ngo " + goVersion + "\n\nrequire " + module + " v0.0.0\n\nreplace " + module + " => " + root + "\n"
			write(t, filepath.Join(mod, "go.mod"), gomod)
			write(t, filepath.Join(mod, "go.sum"), string(sum)) // tidy keeps what the copy needs
			goCmd(t, mod, "mod", "tidy")
			goCmd(t, mod, "vet", "./...")
			goCmd(t, mod, "test", "-count=1", "./...")
			for _, dep := range strings.Fields(goCmd(t, mod, "list", "-deps", "-test", "./...")) {
				if strings.HasPrefix(dep, module+"/") && !strings.HasPrefix(dep, module+"/sdk") {
					t.Errorf("the copied %s depends on %s: an example uses moderator's sdk/ alone", example, dep)
				}
			}
		})
	}
}

// goCmd runs the go command in dir as an author would after tidying (the
// default -mod=readonly: go.sum must already cover what is built), offline
// and outside any workspace, and returns its output; it fails the test if
// the command fails.
func goCmd(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOPROXY=off", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s in the copy: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func goDirective(t *testing.T, gomod string) string {
	t.Helper()
	data, err := os.ReadFile(gomod)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "go "); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("%s has no go directive", gomod)
	return ""
}

// copyDir copies the regular files of src (not its subdirectories: an
// example is one flat directory) into dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			t.Fatalf("%s has a subdirectory %s; copyDir copies flat example directories only", src, e.Name())
		}
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(dst, e.Name()), string(data))
	}
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

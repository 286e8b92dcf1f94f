package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// version describes this binary: the module version ("(devel)" for a build from a checkout), the commit
// and whether the tree had changes (when the build recorded them), and the Go version, e.g.
// "wasmoe (devel) (commit 6e33e85c…, modified) go1.26.0".
func version() string {
	v, vcs := "(devel)", ""
	if info, ok := debug.ReadBuildInfo(); ok {
		if info.Main.Version != "" {
			v = info.Main.Version
		}
		var parts []string
		for _, s := range info.Settings {
			switch {
			case s.Key == "vcs.revision":
				parts = append([]string{"commit " + s.Value}, parts...)
			case s.Key == "vcs.modified" && s.Value == "true":
				parts = append(parts, "modified")
			}
		}
		if len(parts) > 0 {
			vcs = " (" + strings.Join(parts, ", ") + ")"
		}
	}
	return fmt.Sprintf("wasmoe %s%s %s", v, vcs, runtime.Version())
}

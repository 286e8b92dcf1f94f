package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Node returns the node binary. Without one the test is skipped, saying to run `make openai-client`,
// which installs it; under `make test`, which runs that target and sets WASMOE_REQUIRE_NODE, it fails
// instead, so that no Node test is skipped there unnoticed.
func Node(t testing.TB) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		nodeMissing(t, "node is not installed")
	}
	return node
}

// NodeClient returns the node binary and tools/openai-client, the directory of the Node tests' pinned
// packages (the official openai client), once `make openai-client` has installed them; without them it
// skips or fails as Node does.
func NodeClient(t testing.TB) (node, dir string) {
	t.Helper()
	node = Node(t)
	dir = filepath.Join(Root(), "tools", "openai-client")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "openai", "package.json")); err != nil {
		nodeMissing(t, "tools/openai-client/node_modules has no openai package")
	}
	return node, dir
}

// nodeMissing skips the test for what is missing, or fails it under WASMOE_REQUIRE_NODE.
func nodeMissing(t testing.TB, what string) {
	t.Helper()
	msg := what + ": run `make openai-client` (part of `make test`) to install node and tools/openai-client's packages"
	if os.Getenv("WASMOE_REQUIRE_NODE") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

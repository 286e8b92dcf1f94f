package sysmem

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
)

// Available must lie between zero and the machine's total memory, as the kernel reports it.
func TestAvailable(t *testing.T) {
	a := Available()
	b, err := os.ReadFile("/proc/meminfo")
	if runtime.GOOS != "linux" || err != nil {
		if a != 0 {
			t.Fatalf("Available = %d without /proc/meminfo", a)
		}
		return
	}
	var total int64
	for _, line := range strings.Split(string(b), "\n") {
		if n, _ := fmt.Sscanf(line, "MemTotal: %d kB", &total); n == 1 {
			total <<= 10
			break
		}
	}
	if a <= 0 || total <= 0 || a > total {
		t.Fatalf("Available = %d, MemTotal = %d", a, total)
	}
}

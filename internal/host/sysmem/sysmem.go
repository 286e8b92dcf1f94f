// Package sysmem reads how much memory the machine has free for the model, its copies and its KV cache.
package sysmem

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// Available is MemAvailable from /proc/meminfo in bytes (free memory plus what the kernel can reclaim
// without swapping, such as the page cache), or 0 when unknown.
func Available() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemAvailable:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

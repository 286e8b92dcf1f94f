//go:build !amd64

package kernels

// available lists the kernel sets this CPU can run, slowest first: only the scalar one off amd64.
func available() []*kernelSet { return []*kernelSet{scalarSet} }

// Package amd64 holds the hand-written x86-64 assembly behind package kernels: AVX2 (with FMA and F16C
// present) and AVX-512 VNNI inner loops. Each exported function checks its slice lengths and then runs the
// assembly; none checks CPU features, which is the caller's job. Every kernel returns bit for bit what the
// scalar reference of the same name in package kernels returns (see internal/kernels/dot.go for the order of the
// float32 arithmetic). On other architectures the package is empty.
package amd64

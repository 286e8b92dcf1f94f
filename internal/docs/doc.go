// Package docs holds no code: its tests keep the repository's documents true to the code. Every function a
// document names must exist, and every path it names must be there.
package docs

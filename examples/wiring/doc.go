// Package wiring holds the tests that put the examples in front of the real
// moderator host: built, named in a moderator.toml, checked, listed and run,
// as each example's README tells an author to do; and copied out of this
// repository into a module of their own, as an author starts. They live here,
// not beside the examples, because they build the host from this repository:
// an example's own directory is what an author copies, and needs nothing but
// the SDK.
package wiring

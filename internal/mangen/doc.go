// Package mangen turns the project's Markdown man pages (docs/man/*.md) into
// the Markdown go-md2man renders without a warning from man(1): tables
// become definition lists (tbl warns when a table is wider than the page,
// and the config reference's are), and a line
//
//	<!-- include ../config.md -->
//
// is replaced by that file with its title dropped and its headings raised
// one level, so that bpfunit.bpfunit(5) is docs/config.md and cannot drift
// from it.
package mangen

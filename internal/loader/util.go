package loader

import (
	"maps"
	"slices"
	"strings"
)

// keyList lists a map's names, sorted and comma-separated, for the "it
// has: ..." part of an error.
func keyList[V any](m map[string]V) string {
	return strings.Join(slices.Sorted(maps.Keys(m)), ", ")
}

package kvmtest

import "strings"

// diffLists renders the difference of two sorted line lists ("-" only in
// want, "+" only in got), or "" when they are equal.
func diffLists(want, got []string) string {
	var b strings.Builder
	i, j := 0, 0
	for i < len(want) || j < len(got) {
		switch {
		case j >= len(got) || (i < len(want) && want[i] < got[j]):
			b.WriteString("- " + want[i] + "\n")
			i++
		case i >= len(want) || got[j] < want[i]:
			b.WriteString("+ " + got[j] + "\n")
			j++
		default:
			i++
			j++
		}
	}
	return b.String()
}

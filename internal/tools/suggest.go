package tools

import (
	"cmp"
	"slices"
	"strings"
)

// closest returns up to n of candidates that look like what was meant by
// name: the same ignoring case, one starting with or containing the other, or
// within a small edit distance. The best matches come first.
func closest(name string, candidates []string, n int) []string {
	type match struct {
		name       string
		rank, dist int
	}
	lname := strings.ToLower(name)
	var matches []match
	for _, c := range candidates {
		lc := strings.ToLower(c)
		m := match{name: c, dist: editDistance(lname, lc)}
		switch {
		case lc == lname:
			m.rank = 0
		case len(lname) >= 3 && strings.HasPrefix(lc, lname), len(lc) >= 3 && strings.HasPrefix(lname, lc):
			m.rank = 1
		case len(lname) >= 3 && strings.Contains(lc, lname), len(lc) >= 3 && strings.Contains(lname, lc):
			m.rank = 2
		case m.dist <= max(2, len(lname)/3):
			m.rank = 3
		default:
			continue
		}
		matches = append(matches, m)
	}
	slices.SortStableFunc(matches, func(a, b match) int {
		return cmp.Or(cmp.Compare(a.rank, b.rank), cmp.Compare(a.dist, b.dist), cmp.Compare(a.name, b.name))
	})
	var out []string
	for _, m := range matches[:min(n, len(matches))] {
		out = append(out, m.name)
	}
	return out
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

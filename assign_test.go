package mocksmtp

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// assignByDFS is the assignment as it was first written: the same
// augmenting-path order, each path found depth first from scratch, with
// no free node taken directly (cubic in the number of right nodes). It
// is the reference TestAssignAgreesWithDFS compares assign with.
func assignByDFS(lo, hi []int, nRight int, edge func(i, j int) bool) []int {
	owner := make([]int, nRight)
	for j := range owner {
		owner[j] = -1
	}
	count := make([]int, len(lo))
	adj := make([][]int, len(lo))
	for i := range lo {
		for j := 0; j < nRight; j++ {
			if edge(i, j) {
				adj[i] = append(adj[i], j)
			}
		}
	}
	var visited []bool
	var augment func(i int) bool
	augment = func(i int) bool {
		for _, j := range adj[i] {
			if visited[j] {
				continue
			}
			visited[j] = true
			if owner[j] < 0 || augment(owner[j]) {
				owner[j] = i
				return true
			}
		}
		return false
	}
	fill := func(limit func(i int) int) {
		for i := range lo {
			for l := limit(i); l < 0 || count[i] < l; {
				visited = make([]bool, nRight)
				if !augment(i) {
					break
				}
				count[i]++
			}
		}
	}
	fill(func(i int) int { return lo[i] })
	fill(func(i int) int { return hi[i] })
	return owner
}

// counts returns how many right nodes each of n left nodes owns, and
// checks that owner only uses edges.
func counts(t *testing.T, n int, owner []int, edge func(i, j int) bool) []int {
	t.Helper()
	c := make([]int, n)
	for j, o := range owner {
		if o >= 0 {
			if !edge(o, j) {
				t.Fatalf("right node %d given to left node %d without an edge", j, o)
			}
			c[o]++
		}
	}
	return c
}

// TestAssignAgreesWithDFS compares assign with the depth-first reference
// on 3,000 random small graphs: every left node gets as many right nodes, and
// so every check passes or fails alike.
func TestAssignAgreesWithDFS(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 3000 {
		left, right := 1+rng.IntN(5), rng.IntN(10)
		density := rng.Float64()
		edges := make([][]bool, left)
		lo, hi := make([]int, left), make([]int, left)
		for i := range left {
			edges[i] = make([]bool, right)
			for j := range right {
				edges[i][j] = rng.Float64() < density
			}
			lo[i] = rng.IntN(4)
			switch rng.IntN(3) {
			case 0:
				hi[i] = -1
			case 1:
				hi[i] = lo[i]
			default:
				hi[i] = lo[i] + rng.IntN(3)
			}
		}
		edge := func(i, j int) bool { return edges[i][j] }
		want := counts(t, left, assignByDFS(lo, hi, right, edge), edge)
		got := counts(t, left, assign(lo, hi, right, edge), edge)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("case %d: lo %v, hi %v, edges %v: counts (-dfs +assign):\n%s", n, lo, hi, edges, diff)
		}
	}
}

// BenchmarkAssign measures assign on the graphs of large checks: one
// AtLeast(1) expectation matching every message, and three overlapping
// ones (every message, every second, every third; exactly 10, at least 1,
// any number).
func BenchmarkAssign(b *testing.B) {
	for _, n := range []int{3_000, 16_000} {
		b.Run(fmt.Sprintf("one/messages=%dk", n/1000), func(b *testing.B) {
			for b.Loop() {
				assign([]int{1}, []int{-1}, n, func(i, j int) bool { return true })
			}
		})
		b.Run(fmt.Sprintf("overlapping/messages=%dk", n/1000), func(b *testing.B) {
			for b.Loop() {
				assign([]int{10, 1, 0}, []int{10, -1, -1}, n, func(i, j int) bool { return j%(i+1) == 0 })
			}
		})
	}
}

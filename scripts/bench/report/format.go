package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// fmtMS formats milliseconds with three significant digits, or — for NaN.
func fmtMS(v float64) string {
	switch {
	case math.IsNaN(v):
		return "—"
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// fmtX formats a ratio as "2.52×", or — when there is none.
func fmtX(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "—"
	case v >= 100:
		return fmt.Sprintf("%.0f×", v)
	case v >= 10:
		return fmt.Sprintf("%.1f×", v)
	default:
		return fmt.Sprintf("%.2f×", v)
	}
}

func fmtMiB(kib float64) string {
	if math.IsNaN(kib) {
		return "—"
	}
	return fmt.Sprintf("%.1f", kib/1024)
}

// fmtCount writes an entry count as the prose does: 1, 100, 1,000, 10,000.
func fmtCount(n int) string {
	if n >= 1000 {
		return fmt.Sprintf("%d,%03d", n/1000, n%1000)
	}
	return strconv.Itoa(n)
}

// entries is "1 entry", "1,000 entries".
func entries(n int) string {
	if n == 1 {
		return "1 entry"
	}
	return fmtCount(n) + " entries"
}

// duration rounds seconds to minutes for the prose.
func duration(s float64) string {
	if s <= 0 {
		return "—"
	}
	m := int(s+30) / 60
	if m < 1 {
		return fmt.Sprintf("%.0f s", s)
	}
	return fmt.Sprintf("%d min", m)
}

// table is a Markdown table; its String is what the template prints.
type table struct {
	head  []string
	align []string // per column: "---" or "---:"
	rows  [][]string
}

// newTable starts a table whose first column is left-aligned and whose
// others are right-aligned from column right on (0: none).
func newTable(right int, head ...string) *table {
	t := &table{head: head}
	for i := range head {
		if right > 0 && i >= right {
			t.align = append(t.align, "---:")
		} else {
			t.align = append(t.align, "---")
		}
	}
	return t
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) String() string {
	var b strings.Builder
	line := func(cells []string) {
		b.WriteString("|")
		for _, c := range cells {
			if c == "" {
				b.WriteString(" |")
			} else {
				b.WriteString(" " + c + " |")
			}
		}
		b.WriteString("\n")
	}
	line(t.head)
	line(t.align)
	for _, r := range t.rows {
		line(r)
	}
	return b.String()
}

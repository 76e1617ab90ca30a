package main

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// results are the metrics of every benchmark line read: benchmark name (without the -GOMAXPROCS suffix) → unit
// → value. A benchmark printed twice keeps its last line.
type results map[string]map[string]float64

// parse reads go test -bench output: lines "BenchmarkName-2  <iterations>  <value> <unit>  <value> <unit> ...".
func parse(r io.Reader) (results, error) {
	out := results{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue // a benchmark's log line, not its result
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 { // the -GOMAXPROCS go test appends
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		m := map[string]float64{}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("%s: %q is not a number (unit %s)", name, f[i], f[i+1])
			}
			m[f[i+1]] = v
		}
		out[name] = m
	}
	return out, sc.Err()
}

// get is the value of unit on benchmark name, if that ran.
func (r results) get(name, unit string) (float64, bool) {
	v, ok := r[name][unit]
	return v, ok
}

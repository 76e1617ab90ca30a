// Command benchtable reads `go test -bench` output (files named, or stdin) and prints one table of the
// performance figures README.md states, each as a ratio to its anchor measured in the same run (figures.go).
// `make bench` runs it on everything its benchmarks printed.
package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	var in []io.Reader
	for _, name := range os.Args[1:] {
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchtable:", err)
			os.Exit(1)
		}
		defer f.Close()
		in = append(in, f)
	}
	if len(in) == 0 {
		in = append(in, os.Stdin)
	}
	res, err := parse(io.MultiReader(in...))
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
	write(os.Stdout, figures(), res)
}

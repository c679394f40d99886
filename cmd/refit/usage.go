package main

import (
	"flag"
	"fmt"
	"io"
)

// printOptions lists the flags as flag.PrintDefaults does, but without its
// "(default …)": each usage already names its environment variable and its
// default, so the default is said once.
func printOptions(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		line := "  -" + f.Name
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok || !b.IsBoolFlag() {
			if name == "" {
				name = "value"
			}
			line += " " + name
		}
		fmt.Fprintf(w, "%s\n    \t%s\n", line, usage)
	})
}

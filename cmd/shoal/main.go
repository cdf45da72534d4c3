// Command shoal is the one binary of shoal: `shoal shardd` runs a shard
// daemon, `shoal frontend` a frontend, `shoal dev` a whole cluster in one
// process (integration/cluster), `shoal health` checks a node. Everything
// real lives in the packages; this is wiring.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	root := &cobra.Command{
		Use:           "shoal",
		Short:         "shoal: a Redis-protocol key-value service that scales out",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	root.AddCommand(sharddCommand(), frontendCommand(), devCommand(), healthCommand())
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "shoal:", err)
		os.Exit(1)
	}
}

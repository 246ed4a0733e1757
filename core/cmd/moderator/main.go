// Command moderator is the moderation host: see `moderator --help`.
package main

import (
	"os"

	"github.com/moderatorbot/moderator/core/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}

// Command roster is Roster's single binary: the server, the operator CLI and
// the bulk tools. See `roster --help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/roster-dev/roster/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], &cli.Env{Stdout: os.Stdout, Stderr: os.Stderr, Stdin: os.Stdin, Getenv: os.Getenv})
	stop()
	os.Exit(code)
}

// Command trackd is a self-hosted affiliate tracker: campaign links,
// postbacks in and out, and reports, in one binary.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	_ "time/tzdata" // report and filter time zones work on hosts without zoneinfo
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "trackd:", err)
		os.Exit(exitCode(err))
	}
}

// usageError is a mistake on the command line: exit code 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func exitCode(err error) int {
	if _, ok := err.(usageError); ok {
		return 2
	}
	return 1
}

const usage = `trackd is a self-hosted affiliate tracker.

Usage:
  trackd [serve] [flags]        run the tracker (the default)
  trackd apikey create --name NAME [--role admin|viewer]
                                print a new API key
  trackd user add --login LOGIN [--role admin|viewer] [--password PW]
                                add a user (a random password is printed when none is given)
  trackd migrate                bring the database schema up to date
  trackd seed [-clicks N] [-days D] [-campaigns C] [-conversion-rate R]
                                fill the store with generated traffic (demos, benchmarks)
  trackd version                print the version

Every command takes the store flags:
  -data DIR     state directory (TRACKD_DATA, default ./data)
  -db DSN       database: empty = SQLite in the data dir, postgres://... = PostgreSQL (TRACKD_DB)

Run "trackd COMMAND -h" for the flags of a command.
`

// run is main without the process: it takes the arguments, environment and
// output streams, so tests can call it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, getenv, stdout, stderr)
	case "apikey":
		return apikey(ctx, args, getenv, stdout, stderr)
	case "user":
		return user(ctx, args, getenv, stdout, stderr)
	case "migrate":
		return migrate(ctx, args, getenv, stdout, stderr)
	case "seed":
		return seed(ctx, args, getenv, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "trackd", version())
		return nil
	case "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usageError{fmt.Sprintf("unknown command %q", cmd)}
}

package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/trackd/trackd/internal/store"
	"github.com/trackd/trackd/internal/track"
)

func apikey(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return usageError{"usage: trackd apikey create --name NAME [--role admin|viewer]"}
	}
	fs := flag.NewFlagSet("trackd apikey create", flag.ContinueOnError)
	var sf storeFlags
	sf.register(fs, getenv)
	name := fs.String("name", "", "a `name` that says who or what uses the key")
	role := fs.String("role", track.RoleAdmin, "`role` of the key: admin or viewer")
	if err := parse(fs, args[1:], stderr); err != nil {
		return err
	}
	k := track.APIKey{Name: *name, Role: *role}
	k.Normalize()
	if err := k.Validate(); err != nil {
		return usageError{err.Error()}
	}
	return sf.with(ctx, stderr, "warn", func(db *store.DB) error {
		if err := db.CreateAPIKey(ctx, &k); err != nil {
			return err
		}
		// Only the key on stdout, so that scripts can capture it.
		_, err := fmt.Fprintln(stdout, k.Key)
		return err
	})
}

func user(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "add" {
		return usageError{"usage: trackd user add --login LOGIN [--role admin|viewer] [--password PW]"}
	}
	fs := flag.NewFlagSet("trackd user add", flag.ContinueOnError)
	var sf storeFlags
	sf.register(fs, getenv)
	login := fs.String("login", "", "the user's `login`")
	role := fs.String("role", track.RoleViewer, "`role`: admin or viewer")
	password := fs.String("password", "", "the `password` (at least 10 characters); random when empty")
	if err := parse(fs, args[1:], stderr); err != nil {
		return err
	}
	u := track.User{Login: *login, Role: *role, Password: *password}
	random := u.Password == ""
	if random {
		u.Password = track.RandomToken(12)
	}
	pw := u.Password
	u.Normalize()
	if err := u.Validate(true); err != nil {
		return usageError{err.Error()}
	}
	return sf.with(ctx, stderr, "warn", func(db *store.DB) error {
		if err := db.CreateUser(ctx, &u); err != nil {
			return err
		}
		if random {
			fmt.Fprintf(stdout, "Added user %s (%s) with password %s\n", u.Login, u.Role, pw)
		} else {
			fmt.Fprintf(stdout, "Added user %s (%s)\n", u.Login, u.Role)
		}
		return nil
	})
}

func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("trackd migrate", flag.ContinueOnError)
	var sf storeFlags
	sf.register(fs, getenv)
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	return sf.with(ctx, stderr, "info", func(*store.DB) error {
		_, err := fmt.Fprintln(stdout, "schema is up to date")
		return err
	})
}

// Package servercmd gives the example servers (examples/lockstep,
// examples/mmo, examples/echo/server) the operator subcommands a container
// needs, from the server's own configuration loading so they cannot drift
// from it:
//
//	<server> healthcheck [-c file] [-ready] [-url URL] [-timeout 2s]
//	<server> checkconfig [-c file]
//
// healthcheck stands in for curl in a distroless image (no shell, no
// curl): it finds AdminAddr as the server would and GETs /healthz (or
// /readyz). checkconfig loads the configuration strictly, so a ZINX_*
// variable that no key reads is an error instead of a warning; the
// deployment tests run it over every environment they ship.
package servercmd

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/zinxgame/zinxgame/zconf"
)

// Load loads a server's configuration the way the server does. The caller
// sets File, Environ, Logger and StrictEnv (and Overrides, from the
// server's flags); Load adds the server's defaults and sections, so one
// function serves the server and its subcommands.
type Load func(src zconf.Source) (zconf.Config, error)

// Command is one server's command line. A Command is a value: Main may be
// called from any goroutine, and calls share nothing but what its fields
// point at.
type Command struct {
	// Name prefixes messages ("lockstep server: ...").
	Name string
	// Load reads the server's configuration (see Load).
	Load Load
	// Run is the server itself, given the arguments after the program
	// name when they do not start with a subcommand.
	Run func(args []string) error
	// Stdout and Stderr receive the subcommands' output; nil means the
	// process's.
	Stdout, Stderr io.Writer
	// Environ is the environment the subcommands read, as os.Environ
	// returns it; nil means the process's.
	Environ []string
}

// Main runs the command line args (without the program name) and returns
// the exit status: the subcommand's when args[0] names one, else 0 when
// Run returns nil and 1 (with the error on Stderr) when it does not.
func (c Command) Main(args []string) int {
	stderr := c.stderr()
	if len(args) > 0 {
		switch args[0] {
		case "healthcheck":
			return c.healthcheck(args[1:])
		case "checkconfig":
			return c.checkconfig(args[1:])
		}
	}
	if err := c.Run(args); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", c.Name, err)
		return 1
	}
	return 0
}

// FlagSet returns a server's own flag set, named name, whose usage also
// lists the subcommands. It exits on a bad flag (status 2) and on -h
// (status 0), as the flag package's command line does. It is safe from any
// goroutine.
func FlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "Usage of %s:\n", name)
		fs.PrintDefaults()
		fmt.Fprintf(out, "\nSubcommands (%s <subcommand> -h for their flags):\n", name)
		fmt.Fprintln(out, "  healthcheck  GET the admin listener's /healthz (-ready: /readyz); exit 0 on 200, else 1")
		fmt.Fprintln(out, "  checkconfig  load the configuration, refusing unknown ZINX_* variables; exit 0 when valid")
	}
	return fs
}

// checkconfig loads the configuration with StrictEnv and prints a short
// summary; an error (an unknown ZINX_* variable named, a bad value, a bad
// file) is printed and exits 1.
func (c Command) checkconfig(args []string) int {
	fs, status := c.subFlags("checkconfig")
	file := fs.String("c", "", "JSON config file, as the server's -c")
	if done, code := parse(fs, args, status); done {
		return code
	}
	stderr := c.stderr()
	cfg, err := c.Load(zconf.Source{File: *file, Environ: c.Environ, StrictEnv: true,
		Logger: slog.New(slog.NewTextHandler(stderr, nil))})
	if err != nil {
		fmt.Fprintf(stderr, "%s checkconfig: %v\n", c.Name, err)
		return 1
	}
	admin := cfg.AdminAddr
	if admin == "" {
		admin = "off"
	}
	fmt.Fprintf(c.stdout(), "%s: config ok: Name %q, Mode %q, NodeID %d, AdminAddr %s\n",
		c.Name, cfg.Name, cfg.Mode, cfg.NodeID, admin)
	return 0
}

// subFlags returns a subcommand's flag set. Parse errors are exit status
// 1, never 2: Docker reserves a healthcheck's status 2.
func (c Command) subFlags(name string) (*flag.FlagSet, int) {
	fs := flag.NewFlagSet(c.Name+" "+name, flag.ContinueOnError)
	fs.SetOutput(c.stderr())
	return fs, 1
}

// parse parses args into fs; done reports that the subcommand ends here,
// with code (0 for -h, failure for a bad flag or a stray argument).
func parse(fs *flag.FlagSet, args []string, failure int) (done bool, code int) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return true, 0
		}
		return true, failure
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "%s: unexpected arguments %q\n", fs.Name(), fs.Args())
		return true, failure
	}
	return false, 0
}

func (c Command) stdout() io.Writer {
	if c.Stdout == nil {
		return os.Stdout
	}
	return c.Stdout
}

func (c Command) stderr() io.Writer {
	if c.Stderr == nil {
		return os.Stderr
	}
	return c.Stderr
}

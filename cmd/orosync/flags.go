package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/orosync/orosync/events/redact"
)

// command is the flag set of one orosync command. Its usage goes to stdout when asked for (-h, --help, help),
// to stderr after a mistake; either way parse returns before the command does anything.
type command struct {
	*flag.FlagSet
	synopsis       string // "orosync run [flags]" and what it does, printed before the flags
	args           int    // positional arguments allowed after the flags
	stdout, stderr io.Writer
}

func newCommand(name, synopsis string, stdout, stderr io.Writer) *command {
	fs := flag.NewFlagSet("orosync "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {} // parse prints the usage, to the stream it belongs on
	return &command{FlagSet: fs, synopsis: synopsis, stdout: stdout, stderr: stderr}
}

// parse reads args. It returns flag.ErrHelp after printing the usage to stdout when help was asked for, and
// errUsage after printing the problem and the usage to stderr; the caller returns either at once.
func (c *command) parse(args []string) error {
	err := c.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		c.usage(c.stdout)
		return flag.ErrHelp
	case err != nil: // the flag package printed what was wrong
		c.usage(c.stderr)
		return errUsage
	case c.NArg() > c.args:
		fmt.Fprintf(c.stderr, "unexpected arguments: %s\n", strings.Join(c.Args()[c.args:], " "))
		c.usage(c.stderr)
		return errUsage
	}
	return nil
}

func (c *command) usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: %s\n\nFlags:\n", c.synopsis)
	c.SetOutput(w)
	c.PrintDefaults()
	c.SetOutput(c.stderr)
}

// secretVar defines a string flag whose value is never printed: its default shows as (set) when it has one.
func (c *command) secretVar(p *string, name, value, usage string) {
	*p = value
	c.Var(secretValue{p}, name, usage)
}

// urlVar defines a connection-string flag whose usage shows its default as is, or as (set) when it holds a
// password or token (anything redact.URL would hide).
func (c *command) urlVar(p *string, name, value, usage string) {
	*p = value
	c.Var(urlValue{p}, name, usage)
}

func (c *command) url(name, value, usage string) *string {
	p := new(string)
	c.urlVar(p, name, value, usage)
	return p
}

type secretValue struct{ p *string }

func (s secretValue) String() string {
	if s.p == nil || *s.p == "" {
		return ""
	}
	return "(set)"
}

func (s secretValue) Set(v string) error { *s.p = v; return nil }

type urlValue struct{ p *string }

func (u urlValue) String() string {
	if u.p == nil {
		return ""
	}
	if redact.URL(*u.p) != *u.p {
		return "(set)"
	}
	return *u.p
}

func (u urlValue) Set(v string) error { *u.p = v; return nil }

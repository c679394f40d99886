package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"refit/models"
	"refit/services"
)

// authOptions are the auth service's options from the config.
func authOptions(cfg Config) services.AuthOptions {
	return services.AuthOptions{
		Disabled:       !cfg.Auth,
		SessionIdle:    cfg.SessionIdle,
		SessionMax:     cfg.SessionMax,
		CookieSecure:   cfg.CookieSecure,
		TrustedOrigins: cfg.TrustedOrigins,
		BcryptCost:     bcryptCost,
	}
}

// bcryptCost is the cost of new password hashes; 0 is the service's
// default. Tests lower it.
var bcryptCost = 0

const userUsage = `Usage: refit user COMMAND [options]

  add NAME [-role admin|operator|viewer] [-password-stdin]   add a user (role viewer by default)
  passwd NAME [-password-stdin]                              set a user's password; ends their sessions
  role NAME ROLE                                             change a user's role
  list                                                       list users
  remove NAME                                                remove a user, their sessions and tokens

The password is asked for twice on a terminal, else read from the first line
of standard input. Every command takes -db (env REFIT_DB) and works on the
database of a running refit too. The last admin cannot be removed or demoted.
`

// userCommand is `refit user …`: user management on the database, for the
// first admin, a forgotten password, or provisioning scripts.
func userCommand(args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprint(stderr, userUsage)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
			return flag.ErrHelp
		}
		return errors.New("refit user: want a command: add, passwd, role, list or remove")
	}
	sub, args := args[0], args[1:]
	want := map[string]int{"add": 1, "passwd": 1, "role": 2, "list": 0, "remove": 1}
	n, ok := want[sub]
	if !ok {
		fmt.Fprint(stderr, userUsage)
		return fmt.Errorf("refit user: unknown command %q", sub)
	}
	fs := flag.NewFlagSet("refit user "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, userUsage) }
	dbPath := fs.String("db", optionValue("db", getenv), "SQLite database file (env REFIT_DB)")
	role := fs.String("role", string(models.RoleViewer), "role of the new user: admin, operator or viewer")
	fromStdin := fs.Bool("password-stdin", false, "read the password from standard input even on a terminal")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != n {
		return fmt.Errorf("refit user %s: want %d argument(s), got %d (see refit user -h)", sub, n, len(pos))
	}

	db, err := services.OpenDB(*dbPath)
	if err != nil {
		return err
	}
	if sqlDB, err := db.DB(); err == nil {
		defer sqlDB.Close()
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	auth, err := services.NewAuth(db, services.NewAudit(db, log, nil), log, services.AuthOptions{BcryptCost: bcryptCost})
	if err != nil {
		return err
	}
	by := models.Principal{Name: "cli", Via: models.ViaCLI, Addr: "local"}

	switch sub {
	case "add":
		r, err := models.ParseRole(*role)
		if err != nil {
			return err
		}
		pass, err := readPassword(stdin, stderr, *fromStdin)
		if err != nil {
			return err
		}
		u, err := auth.AddUser(by, pos[0], pass, r)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "added user %s (%s)\n", u.Name, u.Role)
	case "passwd":
		pass, err := readPassword(stdin, stderr, *fromStdin)
		if err != nil {
			return err
		}
		if err := auth.SetPassword(by, pos[0], pass); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "password of %s set\n", pos[0])
	case "role":
		r, err := models.ParseRole(pos[1])
		if err != nil {
			return err
		}
		if err := auth.SetRole(by, pos[0], r); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s is now %s\n", pos[0], r)
	case "list":
		us, err := auth.Users()
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tROLE\tCREATED\tLAST LOGIN")
		for _, u := range us {
			last := "never"
			if !u.LastLoginAt.IsZero() {
				last = u.LastLoginAt.UTC().Format(time.DateTime)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Name, u.Role, u.CreatedAt.UTC().Format(time.DateTime), last)
		}
		return tw.Flush()
	case "remove":
		if err := auth.RemoveUser(by, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "removed user %s\n", pos[0])
	}
	return nil
}

// optionValue is an option's environment value or default, from the options
// table, for subcommands that take only a few of them.
func optionValue(name string, getenv func(string) string) string {
	for _, o := range options {
		if o.name == name {
			if v := getenv(o.env); v != "" {
				return v
			}
			return o.def
		}
	}
	return ""
}

// parseInterspersed parses flags before, between and after the positional
// arguments ("add NAME -role operator"), which flag.Parse alone does not.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// readPassword asks twice without echo on a terminal; otherwise (or with
// -password-stdin) it reads the first line of stdin.
func readPassword(stdin io.Reader, stderr io.Writer, fromStdin bool) (string, error) {
	if f, ok := stdin.(*os.File); ok && !fromStdin && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "Password: ")
		p1, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		fmt.Fprint(stderr, "Password again: ")
		p2, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(p1) != string(p2) {
			return "", errors.New("the passwords do not match")
		}
		return string(p1), nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from standard input: %w", err)
	}
	pass := strings.TrimRight(line, "\r\n")
	if pass == "" {
		return "", errors.New("no password on standard input")
	}
	return pass, nil
}

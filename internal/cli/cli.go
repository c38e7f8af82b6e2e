// Package cli is the bpfunit admin command, in the spirit of hostnamectl
// and networkctl: read commands (list, status, verify) that print a table
// or, with --json, JSON for scripts.
package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/bpfunit/bpfunit/internal/config"
	"github.com/bpfunit/bpfunit/internal/manager"
)

// New builds the root command. Output goes to out, errors to errOut.
func New(out, errOut io.Writer) *cobra.Command {
	var asJSON bool
	m := func() *manager.Manager { return manager.FromEnv(nil) }
	root := &cobra.Command{
		Use:           "bpfunit",
		Short:         "Inspect eBPF programs managed as systemd services (bpf@NAME.service)",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(out)
	root.SetErr(errOut)
	root.PersistentFlags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")

	root.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List configured and attached units",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			units, err := m().List(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(out, units)
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "UNIT\tSTATE\tLINKS\tCONFIG")
			var notes []string
			for _, u := range units {
				cfg := u.Config
				if u.Masked {
					cfg = "masked"
				}
				name := u.Name
				if config.ValidateName(name) != nil {
					name = strconv.Quote(name) // may hold a tab or a newline
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", name, u.State, len(u.Links), cfg)
				if u.Reason != "" {
					notes = append(notes, name+": "+u.Reason)
				}
				if u.Err != "" && !strings.Contains(u.Reason, u.Err) {
					notes = append(notes, name+": "+u.Err)
				}
			}
			tw.Flush()
			if len(notes) > 0 {
				fmt.Fprintln(out)
				for _, n := range notes {
					fmt.Fprintln(out, n)
				}
			}
			fmt.Fprintf(out, "\n%d units listed.\n", len(units))
			return nil
		},
	})

	root.AddCommand(&cobra.Command{
		Use:   "status NAME",
		Short: "Show a unit's links, programs and maps as the kernel sees them",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := m().Status(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(out, st)
			}
			printStatus(out, st)
			return nil
		},
	})

	root.AddCommand(&cobra.Command{
		Use:   "verify FILE|NAME",
		Short: "Parse a config and load its programs into the kernel without attaching (runs the verifier)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			mg := m()
			var u *config.Unit
			var err error
			if strings.Contains(args[0], "/") || strings.HasSuffix(args[0], ".bpfunit") {
				u, err = config.LoadFile(args[0])
			} else {
				u, err = config.Load(mg.ConfigDirs, args[0])
			}
			if err != nil {
				return err
			}
			res, err := mg.Verify(cmd.Context(), u)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(out, res)
			}
			fmt.Fprintf(out, "%s: OK (%s)\n", u.Path, res.Object)
			for _, a := range res.Attach {
				fmt.Fprintf(out, "  would attach %s\n", a)
			}
			return nil
		},
	})
	addHelperVerbs(root, out, &asJSON)
	return root
}

func printJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func printStatus(out io.Writer, st *manager.Status) {
	fmt.Fprintf(out, "● %s - %s\n", st.Name, st.Description)
	fmt.Fprintf(out, "     State: %s\n", st.State)
	if st.Reason != "" {
		fmt.Fprintf(out, "    Reason: %s\n", st.Reason)
	}
	if st.Err != "" && !strings.Contains(st.Reason, st.Err) {
		fmt.Fprintf(out, "     Error: %s\n", st.Err)
	}
	if st.Config != "" {
		fmt.Fprintf(out, "    Config: %s\n", st.Config)
	}
	if st.ObjectPath != "" {
		fmt.Fprintf(out, "    Object: %s\n", st.ObjectPath)
	}
	if !st.Started.IsZero() {
		fmt.Fprintf(out, "   Started: %s\n", st.Started.Local().Format("2006-01-02 15:04:05 MST"))
	}
	if !st.Reloaded.IsZero() {
		fmt.Fprintf(out, "  Reloaded: %s\n", st.Reloaded.Local().Format("2006-01-02 15:04:05 MST"))
	}
	for i, l := range st.Links {
		label := "     Links:"
		if i > 0 {
			label = "           "
		}
		alive := ""
		switch {
		case l.Detached:
			alive = " (detached)"
		case !l.Alive:
			alive = " (dead)"
		}
		swap := ""
		if l.LastSwap != "" {
			swap = " (last swap: " + l.LastSwap + ")"
		}
		fmt.Fprintf(out, "%s %s %s %s -> %s link %d prog %d tag %s%s%s\n", label, filepath.Base(l.Pin), l.Type, l.Program, l.Target, l.LinkID, l.ProgID, l.ProgTag, alive, swap)
	}
	for i, mp := range st.Maps {
		label := "      Maps:"
		if i > 0 {
			label = "           "
		}
		fmt.Fprintf(out, "%s %s id %d %s key %d value %d max %d", label, mp.Name, mp.ID, mp.Type, mp.KeySize, mp.ValueSize, mp.MaxEntries)
		if len(mp.Values) > 0 {
			fmt.Fprint(out, " values")
			for i, v := range mp.Values {
				fmt.Fprintf(out, " [%d]=%d", i, v)
			}
		}
		fmt.Fprintln(out)
	}
}

// Main runs the command with args and returns the exit status.
func Main(args []string) int {
	root := New(os.Stdout, os.Stderr)
	root.SetArgs(args)
	if err := root.Execute(); err != nil {
		fmt.Fprintf(os.Stderr, "bpfunit: %v\n", err)
		return 1
	}
	return 0
}

package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/bpfunit/bpfunit/internal/manager"
	"github.com/bpfunit/bpfunit/internal/service"
)

// addHelperVerbs adds the verbs that change units: clients of bpfunitd
// (start, stop, reload through systemd; detach; replace) and monitor. The
// read verbs (list, status, verify) read the manager directly, so they
// answer the same whether bpfunitd runs or not.
func addHelperVerbs(root *cobra.Command, out io.Writer, asJSON *bool) {
	transport := transportAuto
	root.PersistentFlags().StringVar(&transport, "transport", transportAuto,
		"how to reach bpfunitd for changes: auto (system bus, else Varlink), dbus, varlink")
	timeout := 2 * time.Minute
	connect := func(cmd *cobra.Command) (helper, context.Context, context.CancelFunc, error) {
		ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
		h, err := connectHelper(ctx, transport)
		if err != nil {
			cancel()
			return nil, nil, nil, err
		}
		return h, ctx, cancel, nil
	}
	units := completeUnits

	for _, verb := range []struct{ name, short string }{
		{"start", "Start bpf@NAME.service through systemd (attach the unit's programs)"},
		{"stop", "Stop bpf@NAME.service through systemd (detach everything of the unit)"},
		{"reload", "Reload bpf@NAME.service through systemd (swap in the config's programs, keeping maps)"},
	} {
		root.AddCommand(&cobra.Command{
			Use:               verb.name + " NAME",
			Short:             verb.short,
			Args:              cobra.ExactArgs(1),
			ValidArgsFunction: units,
			RunE: func(cmd *cobra.Command, args []string) error {
				h, ctx, cancel, err := connect(cmd)
				if err != nil {
					return err
				}
				defer cancel()
				defer h.Close()
				res, err := h.Job(ctx, verb.name, args[0])
				if err != nil {
					return fmt.Errorf("%s %s: %w", verb.name, args[0], err)
				}
				if *asJSON {
					if err := printJSON(out, map[string]string{"unit": args[0], "verb": verb.name, "result": res}); err != nil {
						return err
					}
				}
				if service.JobResult(res) != service.JobDone {
					return fmt.Errorf("%s %s: job %s; see: systemctl status %s", verb.name, args[0], res, service.ServiceName(args[0]))
				}
				return nil
			},
		})
	}

	root.AddCommand(&cobra.Command{
		Use:               "detach NAME LINK",
		Short:             "Remove one link of a running unit (LINK as `bpfunit status` shows it); the others stay",
		Args:              cobra.ExactArgs(2),
		ValidArgsFunction: completeLinks,
		RunE: func(cmd *cobra.Command, args []string) error {
			h, ctx, cancel, err := connect(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			defer h.Close()
			if err := h.Detach(ctx, args[0], args[1]); err != nil {
				return fmt.Errorf("detach %s %s: %w", args[0], args[1], err)
			}
			if *asJSON {
				return printJSON(out, map[string]string{"unit": args[0], "link": args[1]})
			}
			return nil
		},
	})

	root.AddCommand(&cobra.Command{
		Use:   "replace NAME PROGRAM FILE",
		Short: "Swap PROGRAM of a running unit for the same-named program of the object FILE, keeping maps",
		Args:  cobra.ExactArgs(3),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			switch len(args) {
			case 0:
				return completeUnits(cmd, args, "")
			case 2:
				return []string{"o"}, cobra.ShellCompDirectiveFilterFileExt
			}
			return nil, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			// The caller opens the file: bpfunitd reads what the caller
			// may read, through the descriptor.
			f, err := os.Open(args[2])
			if err != nil {
				return fmt.Errorf("replace %s %s: %w", args[0], args[1], err)
			}
			defer f.Close()
			h, ctx, cancel, err := connect(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			defer h.Close()
			id, err := h.Replace(ctx, args[0], args[1], f)
			if err != nil {
				return fmt.Errorf("replace %s %s: %w", args[0], args[1], err)
			}
			if *asJSON {
				return printJSON(out, map[string]any{"unit": args[0], "program": args[1], "prog_id": id})
			}
			fmt.Fprintf(out, "%s: %s replaced by program %d\n", args[0], args[1], id)
			return nil
		},
	})

	root.AddCommand(&cobra.Command{
		Use:   "monitor",
		Short: "Print changes of units as they happen (whoever makes them) until interrupted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			h, err := connectHelper(ctx, transport)
			if err != nil {
				return err
			}
			defer h.Close()
			// On stderr, so that stdout (--json) stays one object per
			// line; scripts and tests wait for it to know nothing is missed.
			ready := func() {
				fmt.Fprintf(cmd.ErrOrStderr(), "Monitoring unit changes (%s). Press ^C to stop.\n", h.Transport())
			}
			return h.Monitor(ctx, ready, func(c change) error {
				if *asJSON {
					// One object per line, for `jq` and scripts.
					return printJSONLine(out, struct {
						Time time.Time `json:"time"`
						change
					}{time.Now(), c})
				}
				_, err := fmt.Fprintf(out, "%s %s %s\n", time.Now().Format("15:04:05.000"), c.Unit, c.State)
				return err
			})
		},
	})
}

func printJSONLine(out io.Writer, v any) error { return json.NewEncoder(out).Encode(v) }

// completeUnits completes unit names from the manager (configured units
// and attached ones).
func completeUnits(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	sts, err := manager.FromEnv(nil).List(cmd.Context())
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	var names []string
	for _, st := range sts {
		names = append(names, st.Name+"\t"+strings.TrimSpace(string(st.State)+" "+st.Description))
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}

// completeLinks completes NAME, then the unit's link names.
func completeLinks(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	switch len(args) {
	case 0:
		return completeUnits(cmd, nil, "")
	case 1:
		st, err := manager.FromEnv(nil).Status(cmd.Context(), args[0])
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		var pins []string
		for _, l := range st.Links {
			pins = append(pins, filepath.Base(l.Pin))
		}
		return pins, cobra.ShellCompDirectiveNoFileComp
	}
	return nil, cobra.ShellCompDirectiveNoFileComp
}
